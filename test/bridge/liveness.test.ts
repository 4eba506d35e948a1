// Liveness of signaling connections, both ends: the bridge drops a peer whose
// socket stopped answering and closes one that never joins; a client notices
// a bridge that stopped answering. Intervals shortened through the bridge's settings.
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Bridge } from '../../bridge/Bridge.ts';
import { LIVENESS_CLOSE } from '../../protocol/liveness.ts';
import { SignalingClient, SignalingError } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinRoom, signalingUrl } from '../helpers/signaling.ts';
import { startTcpProxy } from '../helpers/tcpProxy.ts';
import { waitFor } from '../helpers/wait.ts';

const PING_INTERVAL_MS = 200;
const PEER_TIMEOUT_MS = 1000;
const JOIN_DEADLINE_MS = 1000;
/** Timers on a loaded machine fire late; this much later still counts as on time. */
const SLACK_MS = 700;

/** A raw socket whose replies are collected; `autoPong: false` makes it deaf to the bridge's pings. */
async function rawSocket(url: string, options: { autoPong: boolean }) {
  const ws = new WebSocket(url, options);
  const replies: { id: number | null; ok: boolean; error?: { code: string } }[] = [];
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    if ('ok' in message) replies.push(message);
  });
  const socket = { ws, replies, openedAt: 0, closed: undefined as { code: number; reason: string; at: number } | undefined };
  ws.once('close', (code, reason) => (socket.closed = { code, reason: String(reason), at: Date.now() }));
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  socket.openedAt = Date.now();
  return socket;
}

describe('signaling liveness', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({
      SIGNALING_PING_INTERVAL_MS: String(PING_INTERVAL_MS),
      SIGNALING_PEER_TIMEOUT_MS: String(PEER_TIMEOUT_MS),
      SIGNALING_JOIN_DEADLINE_MS: String(JOIN_DEADLINE_MS),
    });
  });
  afterAll(() => bridge?.stop());

  it('drops a peer whose socket stopped answering pings, and the others see it leave; answering peers stay', async () => {
    const alice = await joinRoom(bridge.url, 'silent', 'Alice', 'web');
    const mute = await rawSocket(signalingUrl(bridge.url), { autoPong: false });
    mute.ws.send(JSON.stringify({ id: 1, method: 'join', data: { room: 'silent', displayName: 'Mute' } }));
    const joined = await waitFor('Alice to hear of Mute', () => alice.notificationsOf('peerJoined')[0]);

    const left = await waitFor('Alice to hear Mute left', () => alice.notificationsOf('peerLeft')[0], PEER_TIMEOUT_MS + SLACK_MS + 2000);
    const droppedAfter = Date.now() - mute.openedAt;
    expect(left.peerId).toBe(joined.peer.id);
    expect(droppedAfter).toBeGreaterThanOrEqual(PEER_TIMEOUT_MS - 50);
    expect(droppedAfter).toBeLessThan(PEER_TIMEOUT_MS + SLACK_MS);
    // Its socket was cut, not closed politely (no one would have answered the handshake).
    expect((await waitFor('Mute to see its socket closed', () => mute.closed)).code).toBe(1006);

    // Alice answered every ping for longer than the timeout, so she is still in.
    expect(alice.client.isOpen).toBe(true);
    expect(bridge.registry.get('silent')?.visiblePeers().map((p) => p.displayName)).toEqual(['Alice']);
    alice.client.close();
  });

  it('closes a socket that does not join in time; a ping is answered before join but does not count as one', async () => {
    const idle = await rawSocket(signalingUrl(bridge.url), { autoPong: true });
    idle.ws.send(JSON.stringify({ id: 1, method: 'ping', data: {} }));
    idle.ws.send(JSON.stringify({ id: 2, method: 'ping', data: 'x' }));
    await waitFor('both pings answered', () => idle.replies.length === 2);
    const [good, bad] = idle.replies.toSorted((a, b) => a.id! - b.id!);
    expect(good).toEqual({ id: 1, ok: true, data: {} });
    expect(bad).toMatchObject({ id: 2, ok: false, error: { code: 'invalidData' } });

    const closed = await waitFor('the idle socket closed', () => idle.closed, JOIN_DEADLINE_MS + SLACK_MS + 2000);
    expect(closed).toMatchObject(LIVENESS_CLOSE.joinDeadline);
    expect(closed.at - idle.openedAt).toBeGreaterThanOrEqual(JOIN_DEADLINE_MS - 50);
    expect(closed.at - idle.openedAt).toBeLessThan(JOIN_DEADLINE_MS + SLACK_MS);

    // One that joined in time, then left, is not closed by the deadline (services move between rooms).
    const mover = await joinRoom(bridge.url, 'moving', 'Mover');
    await mover.client.request('leave', {});
    // A clock: this later socket is closed at its deadline, so the mover's has passed.
    const later = await rawSocket(signalingUrl(bridge.url), { autoPong: true });
    await waitFor('the later socket closed', () => later.closed, JOIN_DEADLINE_MS + SLACK_MS + 2000);
    expect(mover.client.isOpen).toBe(true);
    mover.client.close();
  });

  it('a client closes its connection when the bridge stops answering, within its timeout', async () => {
    const proxy = await startTcpProxy(Number(new URL(bridge.url).port));
    try {
      const client = await SignalingClient.connect(`ws://${proxy.address}/ws`, {
        liveness: { pingIntervalMs: PING_INTERVAL_MS, timeoutMs: PEER_TIMEOUT_MS },
      });
      let closed: { code: number; reason: string; at: number } | undefined;
      client.onClose((code, reason) => (closed = { code, reason, at: Date.now() }));
      await client.request('join', { room: 'halfOpen', displayName: 'Client' });
      // A quiet room on a bridge that answers: the client's own pings keep it
      // up. (Only waiting shows that nothing happens; three timeouts of it.)
      await delay(3 * PEER_TIMEOUT_MS);
      expect(closed).toBeUndefined();

      const frozenAt = Date.now();
      proxy.freeze();
      const pending = client.request('setHandRaised', { raised: true }).then(() => null, (error: unknown) => error);
      const { code, reason, at } = await waitFor('the client to give up', () => closed, PEER_TIMEOUT_MS + SLACK_MS + 2000);
      expect(code).toBe(LIVENESS_CLOSE.noAnswer.code);
      expect(reason).toContain(LIVENESS_CLOSE.noAnswer.reason);
      expect(at - frozenAt).toBeLessThan(PEER_TIMEOUT_MS + SLACK_MS);
      expect(client.isOpen).toBe(false);
      // What was waiting on the dead connection fails now, not at its own timeout.
      const failure = await pending;
      expect(failure).toBeInstanceOf(SignalingError);
      expect(failure).toMatchObject({ code: 'closed' });
    } finally {
      await proxy.close();
    }
  });
});
