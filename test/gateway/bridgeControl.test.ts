// The gateway's control connection to the bridge: against a stand-in bridge
// whose replies the test releases, so the moments in between are reached on
// purpose; and against a real bridge behind a relay that goes silent.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { createLogger } from '../../common/logger.ts';
import type { TrunkRegistration } from '../../protocol/protocol.ts';
import { BridgeControl, type BridgeControlOptions } from '../../gateway/BridgeControl.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { startTcpProxy } from '../helpers/tcpProxy.ts';
import { waitFor } from '../helpers/wait.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'bridge-control');
const REGISTRAR = 'sip:127.0.0.1:5099';
const PING_INTERVAL_MS = 200;
const TIMEOUT_MS = 1000;
/** Timers on a loaded machine fire late; this much later still counts as on time. */
const SLACK_MS = 700;

function startControl(signalingUrl: string, more: Partial<BridgeControlOptions> = {}): BridgeControl {
  const control = new BridgeControl({
    signalingUrl,
    secret: undefined,
    name: 'test-gateway',
    dialOut: true,
    logger,
    onDialOut: () => undefined,
    onCancel: () => undefined,
    ...more,
  });
  cleanups.push(() => control.stop());
  return control;
}

interface Received {
  method: string;
  data: { trunkRegistration?: TrunkRegistration | null };
}

/** Records what the gateway asks; holds the reply to registerGateway until `releaseRegister()`. */
async function startFakeBridge() {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const received: Received[] = [];
  let heldReply: (() => void) | undefined;
  server.on('connection', (ws) => {
    ws.on('message', (raw) => {
      const { id, method, data } = JSON.parse(String(raw)) as { id: number } & Received;
      received.push({ method, data });
      // The bridge answers a registration with its AUTH_MODE.
      const reply = (): void => ws.send(JSON.stringify({ id, ok: true, data: method === 'registerGateway' ? { authMode: 'open' } : {} }));
      if (method === 'registerGateway') heldReply = reply;
      else reply();
    });
  });
  const { port } = server.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    received,
    releaseRegister: () => heldReply?.(),
    /** The trunk state the bridge holds: the last one any request carried. */
    trunkState: () => received.findLast((r) => r.data.trunkRegistration !== undefined)?.data.trunkRegistration?.state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('BridgeControl', () => {
  test('a trunk state set while registerGateway awaits its reply still reaches the bridge', async () => {
    const bridge = await startFakeBridge();
    cleanups.push(bridge.close);
    const control = startControl(bridge.url);
    control.setTrunkRegistration({ state: 'registering', registrar: REGISTRAR });

    await waitFor('registerGateway at the bridge', () => bridge.received.some((r) => r.method === 'registerGateway'));
    expect(bridge.trunkState()).toBe('registering');
    // The trunk answers while the bridge has not yet answered us.
    control.setTrunkRegistration({ state: 'registered', registrar: REGISTRAR, expiresAt: Date.now() + 600_000, lastRegisteredAt: Date.now() });
    bridge.releaseRegister();
    await waitFor('the bridge told "registered"', () => bridge.trunkState() === 'registered', 3000);
    // Its answer tells the gateway how the bridge admits (a room's URI lets callers in only in open mode).
    expect(await control.authMode(3000)).toBe('open');

    // Later changes go straight out, in order, each once.
    control.setTrunkRegistration({ state: 'failed', registrar: REGISTRAR, lastError: '503 Service Unavailable' });
    await waitFor('the bridge told "failed"', () => bridge.trunkState() === 'failed', 3000);
    expect(bridge.received.map((r) => `${r.method}:${r.data.trunkRegistration?.state}`)).toEqual([
      'registerGateway:registering',
      'updateGateway:registered',
      'updateGateway:failed',
    ]);
  });

  test('gives up on a bridge that stopped answering within its timeout, and registers again once it is back', async () => {
    const bridge = await startBridge({
      SIGNALING_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
      SIGNALING_PEER_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    cleanups.push(() => bridge.stop());
    const proxy = await startTcpProxy(Number(new URL(bridge.url).port));
    cleanups.push(() => proxy.close());
    startControl(`ws://${proxy.address}/ws`, {
      secret: TEST_SERVICE_SECRET,
      signaling: { liveness: { pingIntervalMs: PING_INTERVAL_MS, timeoutMs: TIMEOUT_MS }, connectTimeoutMs: TIMEOUT_MS },
    });
    const first = await waitFor('the gateway registered', () => bridge.dialOuts.gateways[0]);

    // The relay goes silent, the connection stays open: both ends must notice by themselves.
    const frozenAt = Date.now();
    proxy.freeze();
    await waitFor('the bridge to drop the silent gateway', () => bridge.dialOuts.gateways.length === 0, TIMEOUT_MS + SLACK_MS);
    // The gateway gives up on its connection and tries again (500 ms later), into the same silence.
    await waitFor('a second connection', () => proxy.accepted === 2, TIMEOUT_MS + 500 + SLACK_MS);
    expect(Date.now() - frozenAt).toBeLessThan(TIMEOUT_MS + 500 + SLACK_MS);

    proxy.thaw();
    const second = await waitFor('the gateway registered again', () => bridge.dialOuts.gateways[0], 10_000);
    expect(second).not.toBe(first);
  });
});
