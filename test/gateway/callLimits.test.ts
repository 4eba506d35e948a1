// The gateway's bounds and in-call behaviour, with sipp callers: total and
// per-room call limits, the maximum call duration, hold without RTP, and the
// *9 hand key sent as a bare application/dtmf INFO.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { withGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { startSipp } from '../helpers/sipp.ts';
import { bye, expectBye, infoDigit, invite, pause, playAudio, reinvite, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

describe('call limits and in-call behaviour', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
  });
  afterAll(() => bridge?.stop());

  const call = async (gw: TestGateway, room: string, steps: string[]) =>
    startSipp({
      scenario: writeScenario(room, steps),
      remote: `127.0.0.1:${gw.sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', room, '-mp', String(await freePort())],
    });
  const phonesIn = (room: string) => bridge.registry.get(room)?.visiblePeers().filter((p) => p.kind === 'phone') ?? [];

  it('refuses a call over MAX_CALLS with 503, and one over MAX_CALLS_PER_ROOM with goodbye', async () => {
    await withGateway(bridge, { MAX_CALLS: '1' }, async (gw) => {
      const first = await call(gw, 'full', [invite(), playAudio, pause(4000), bye(2)]);
      await waitFor('the first caller in', () => phonesIn('full').length === 1);
      const second = await (await call(gw, 'full', [invite(503)])).done;
      expect(second.code, second.stdout.slice(-1500)).toBe(0);
      expect((await first.done).code).toBe(0);
    });
    await withGateway(bridge, { MAX_CALLS_PER_ROOM: '1' }, async (gw) => {
      const first = await call(gw, 'small', [invite(), playAudio, pause(6000), bye(2)]);
      await waitFor('the first caller in', () => phonesIn('small').length === 1);
      const second = await call(gw, 'small', [invite(), playAudio, expectBye(15_000)]);
      expect((await second.done).code).toBe(0);
      expect(phonesIn('small')).toHaveLength(1);
      expect((await first.done).code).toBe(0);
    });
  });

  it('hangs up at MAX_CALL_SECONDS', async () => {
    await withGateway(bridge, { MAX_CALL_SECONDS: '2' }, async (gw) => {
      const caller = await call(gw, 'short', [invite(), playAudio, expectBye(10_000)]);
      const ended = await waitFor('the call', () => [...gw.gateway.calls][0]);
      expect(await new Promise((resolve) => ended.once('ended', resolve))).toBe('maximum call duration reached');
      expect((await caller.done).code).toBe(0);
    });
  });

  it('keeps a caller on hold past the RTP timeout without letting its music on hold in; takes *9 as application/dtmf', async () => {
    await withGateway(bridge, { RTP_TIMEOUT_SECONDS: '3' }, async (gw) => {
      // sipp's recording is 236 packets over 7 s; its first 2.5 s (about 84) play while still on hold.
      const caller = await call(gw, 'hold', [
        invite(),
        reinvite('sendonly', 2),
        pause(4000), // silent on hold, beyond the RTP timeout
        playAudio, // music on hold
        pause(2500),
        reinvite('sendrecv', 3),
        infoDigit('*', 4, 'dtmf'),
        infoDigit('9', 5, 'dtmf'),
        pause(6500), // the recording ends, and the call with it before the RTP timeout
        bye(6),
      ]);
      await waitFor('the hand raised', () => phonesIn('hold')[0]?.handRaised === true, 15_000);
      const packets = async () => {
        const peer = [...(bridge.registry.get('hold')?.peers ?? [])].find((p) => p.kind === 'phone');
        const producer = [...(peer?.producers.values() ?? [])][0];
        return producer ? (await producer.getStats()).reduce((sum, s) => sum + s.packetCount, 0) : 0;
      };
      let last = -1;
      const heard = await waitFor('the recording to end', async () => {
        const now = await packets();
        const done = now > 0 && now === last;
        last = now;
        return done ? now : 0;
      }, 15_000, 1000);
      // Only what came after the resume reached the room.
      expect(heard).toBeGreaterThan(100);
      expect(heard).toBeLessThan(200);
      expect((await caller.done).code).toBe(0);
      expect(gw.gateway.calls.size).toBe(0);
    });
  });
});
