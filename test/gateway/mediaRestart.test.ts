// A media worker dies under a room with a phone caller: the bridge moves the
// room, and the gateway rebuilds the caller's producer and its room listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { startSipp } from '../helpers/sipp.ts';
import { bye, invite, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

describe('media restart under a phone call', () => {
  let bridge: Bridge;
  let gw: TestGateway;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '2' });
    gw = await startGateway(bridge);
  });

  afterAll(async () => {
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  it('keeps the caller heard in the room after the room moves to another worker', async () => {
    const call = startSipp({
      scenario: writeScenario('through-crash', [invite(), playAudio, pause(6500), playAudio, pause(4000), bye(2)]),
      remote: `127.0.0.1:${gw.sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', 'crash', '-mp', String(await freePort())],
    });
    const peerOf = (kind: 'phone' | 'service') => [...(bridge.registry.get('crash')?.peers ?? [])].find((p) => p.kind === kind);
    const phonePackets = async () => {
      const producer = [...(peerOf('phone')?.producers.values() ?? [])][0];
      return producer ? (await producer.getStats()).reduce((sum, s) => sum + s.packetCount, 0) : 0;
    };
    await waitFor('the caller heard in the room', async () => (await phonePackets()) > 20, 10_000);

    const room = bridge.registry.get('crash')!;
    const deadPid = room.worker.pid;
    process.kill(deadPid, 'SIGKILL');
    await waitFor('the room on a live worker', () => room.worker.pid !== deadPid);

    // Both directions are rebuilt: a new producer with packets, and the listener consuming it again.
    await waitFor('the caller heard again', async () => (await phonePackets()) > 20, 10_000);
    await waitFor('the gateway listening again', () => (peerOf('service')?.consumers.size ?? 0) === 1);
    expect(room.visiblePeers().filter((p) => p.kind === 'phone')).toHaveLength(1);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });
});
