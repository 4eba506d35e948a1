// Calls from sipp (Debian's sip-tester) through the gateway's embedded SIP
// engine: the PIN by SIP INFO, wrong PINs, refused sources, and a caller who
// vanishes without a BYE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingClient } from '../../bridge/signalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { startSipp } from '../helpers/sipp.ts';
import { bye, expectBye, infoDigit, invite, optionsPing, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

describe('calls from sipp', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let host: SignalingClient;

  beforeAll(async () => {
    bridge = await startBridge();
    gw = await startGateway(bridge, { IVR_DIGIT_TIMEOUT_SECONDS: '3' });
    // Someone must be in the room for its PIN to exist.
    host = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    await host.request('join', { room: 'board', displayName: 'Host' });
  });

  afterAll(async () => {
    host?.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  /** A second gateway with other settings, for one test. */
  const withGateway = async (env: Record<string, string>, test: (other: TestGateway) => Promise<void>) => {
    const other = await startGateway(bridge, env);
    try {
      await test(other);
    } finally {
      await other.gateway.stop();
    }
  };

  const sipp = async (name: string, steps: string[], extra: { service?: string; to?: TestGateway } = {}) =>
    startSipp({
      scenario: writeScenario(name, steps),
      remote: `127.0.0.1:${(extra.to ?? gw).sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', extra.service ?? '15550100', '-mp', String(await freePort())],
    });

  /** Why the gateway ends the call it is about to receive (or has just received). */
  const endReasonOfNextCall = async (at = gw): Promise<string> => {
    const call = await waitFor('a call at the gateway', () => [...at.gateway.calls][0]);
    return new Promise((resolve) => call.once('ended', resolve));
  };

  it('joins the room with a PIN sent as SIP INFO, and sends audio', async () => {
    const pin = bridge.registry.get('board')!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const call = await sipp('pin-by-info', [invite(), ...digits, playAudio, pause(4000), bye(20)]);
    const phone = await waitFor('the caller in the room', () =>
      bridge.registry.get('board')?.visiblePeers().find((p) => p.kind === 'phone'),
    15_000);
    expect(phone.displayName).toContain('+15551230123');
    // The caller's audio reaches the room: its producer's packets are counted by the bridge.
    const room = bridge.registry.get('board')!;
    await waitFor('audio from the caller in the room', async () => {
      const peer = [...room.peers].find((p) => p.kind === 'phone');
      const producer = peer && [...peer.producers.values()][0];
      const stats = producer ? await producer.getStats() : [];
      return stats.some((s) => s.packetCount > 50);
    });
    const result = await call.done;
    expect(result.code, result.stderr).toBe(0);
    await waitFor('the caller gone and its ports released', () =>
      !room.visiblePeers().some((p) => p.kind === 'phone') && gw.gateway.ports.inUse === 0,
    );
  });

  it('says goodbye and hangs up after three wrong PINs', async () => {
    const wrong = (attempt: number) => ['0', '0', '0', '#'].map((d, i) => infoDigit(d, 2 + attempt * 4 + i));
    const call = await sipp('wrong-pin', [invite(), ...wrong(0), pause(500), ...wrong(1), pause(500), ...wrong(2), expectBye(20_000)]);
    expect(await endReasonOfNextCall()).toBe('no valid PIN entered');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    expect(bridge.registry.get('board')!.visiblePeers().some((p) => p.kind === 'phone')).toBe(false);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('hangs up on a caller who never types anything', async () => {
    const call = await sipp('silent-ivr', [invite(), playAudio, expectBye(30_000)]);
    expect(await endReasonOfNextCall()).toBe('no valid PIN entered');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('hangs up a caller a moderator removes', async () => {
    const call = await sipp('removed', [invite(), playAudio, expectBye(15_000)], { service: 'board' });
    const reason = endReasonOfNextCall();
    const phone = await waitFor('the caller in the room', () =>
      bridge.registry.get('board')?.visiblePeers().find((p) => p.kind === 'phone'),
    );
    const removed = await fetch(`${bridge.url}/api/rooms/board/participants/${phone.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(await reason).toBe('removed by a moderator');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('times out a caller who vanishes (no RTP, no BYE) and cleans up', async () => {
    await withGateway({ RTP_TIMEOUT_SECONDS: '2' }, async (quick) => {
      const call = await sipp('vanish', [invite(), expectBye(15_000)], { service: 'board', to: quick });
      const reason = endReasonOfNextCall(quick);
      await waitFor('the caller in the room', () => bridge.registry.get('board')?.visiblePeers().some((p) => p.kind === 'phone'));
      expect(await reason).toBe('no RTP from the caller');
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
      await waitFor('the caller removed and ports released', () =>
        !bridge.registry.get('board')!.visiblePeers().some((p) => p.kind === 'phone') && quick.gateway.ports.inUse === 0,
      );
    });
  });

  it("answers a trunk's OPTIONS ping", async () => {
    const result = await (await sipp('options', [optionsPing()])).done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('refuses callers from sources that are not allowed with 403', async () => {
    await withGateway({ SIP_ALLOWED_SOURCES: '10.99.0.0/16' }, async (strict) => {
      const call = await sipp('forbidden', [invite(403)], { service: 'board', to: strict });
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
      expect(strict.gateway.calls.size).toBe(0);
    });
  });
});
