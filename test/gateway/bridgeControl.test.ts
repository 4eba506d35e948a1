// The gateway's control connection to the bridge, against a stand-in bridge
// whose replies the test releases, so the moments in between are reached on purpose.
import { once } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { WebSocketServer } from 'ws';
import { createLogger } from '../../common/logger.ts';
import type { TrunkRegistration } from '../../protocol/protocol.ts';
import { BridgeControl } from '../../gateway/BridgeControl.ts';
import { waitFor } from '../helpers/wait.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'bridge-control');
const REGISTRAR = 'sip:127.0.0.1:5099';

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
      const reply = (): void => ws.send(JSON.stringify({ id, ok: true, data: {} }));
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
    const control = new BridgeControl({
      signalingUrl: bridge.url,
      secret: undefined,
      name: 'test-gateway',
      dialOut: true,
      logger,
      onDialOut: () => undefined,
      onCancel: () => undefined,
    });
    cleanups.push(() => control.stop());
    control.setTrunkRegistration({ state: 'registering', registrar: REGISTRAR });

    await waitFor('registerGateway at the bridge', () => bridge.received.some((r) => r.method === 'registerGateway'));
    expect(bridge.trunkState()).toBe('registering');
    // The trunk answers while the bridge has not yet answered us.
    control.setTrunkRegistration({ state: 'registered', registrar: REGISTRAR, expiresAt: Date.now() + 600_000, lastRegisteredAt: Date.now() });
    bridge.releaseRegister();
    await waitFor('the bridge told "registered"', () => bridge.trunkState() === 'registered', 3000);

    // Later changes go straight out, in order, each once.
    control.setTrunkRegistration({ state: 'failed', registrar: REGISTRAR, lastError: '503 Service Unavailable' });
    await waitFor('the bridge told "failed"', () => bridge.trunkState() === 'failed', 3000);
    expect(bridge.received.map((r) => `${r.method}:${r.data.trunkRegistration?.state}`)).toEqual([
      'registerGateway:registering',
      'updateGateway:registered',
      'updateGateway:failed',
    ]);
  });
});
