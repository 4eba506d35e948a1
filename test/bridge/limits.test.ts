// What a stranger can reach over signaling (issue 14): which pages may open
// the socket (Origin), how many sockets one address holds, how many messages
// a socket may send, how many rooms the bridge hosts, and how many plain
// transports a service opens. Small limits through the bridge's settings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { RtpReceiver, RtpSender } from '../helpers/rtp.ts';
import { joinRoom, OPUS, signalingUrl } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOMS_MAX = 20;
const SOCKETS_PER_ADDRESS = 30;
const MESSAGES_PER_SECOND = 20;
const MESSAGE_BURST = 40;

interface Reply {
  id: number | null;
  ok: boolean;
  error?: { code: string; message: string };
}

/** A raw signaling socket (the ws client sends an Origin only when given one), its replies and how it ended. */
function rawSocket(url: string, origin?: string, forwardedFor?: string) {
  const ws = new WebSocket(url, { ...(origin !== undefined && { origin }), ...(forwardedFor !== undefined && { headers: { 'x-forwarded-for': forwardedFor } }) });
  const socket = {
    ws,
    replies: [] as Reply[],
    closed: undefined as { code: number; reason: string } | undefined,
    /** The HTTP answer when the upgrade was refused. */
    refused: undefined as { status: number; body: string } | undefined,
  };
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    if ('ok' in message) socket.replies.push(message);
  });
  ws.on('close', (code, reason) => (socket.closed = { code, reason: String(reason) }));
  ws.on('unexpected-response', (_request, response) => {
    let body = '';
    response.on('data', (chunk: Buffer) => (body += chunk));
    response.on('end', () => (socket.refused = { status: response.statusCode ?? 0, body }));
  });
  ws.on('error', () => {}); // refusals are read from `refused` and `closed`
  return socket;
}
type RawSocket = ReturnType<typeof rawSocket>;

let nextId = 1;
/** Sends a request and waits for its reply, or the socket's end. */
async function request(socket: RawSocket, method: string, data: object = {}): Promise<Reply | undefined> {
  await waitFor('the socket to open or be refused', () => socket.ws.readyState !== WebSocket.CONNECTING || socket.refused);
  if (socket.ws.readyState !== WebSocket.OPEN) return undefined;
  const id = nextId++;
  socket.ws.send(JSON.stringify({ id, method, data }));
  await waitFor(`a reply to ${method} or a close`, () => socket.replies.some((r) => r.id === id) || socket.closed || socket.refused);
  return socket.replies.find((r) => r.id === id);
}

/** Whether the bridge serves this socket: it answers a ping. */
async function served(socket: RawSocket): Promise<boolean> {
  return (await request(socket, 'ping'))?.ok === true;
}

async function closeAll(sockets: RawSocket[]): Promise<void> {
  for (const { ws } of sockets) ws.close();
  await waitFor('every socket closed', () => sockets.every((s) => s.closed || s.refused));
}

describe('signaling limits', () => {
  let bridge: Bridge;
  let url: string;

  beforeAll(async () => {
    bridge = await startBridge({
      MEDIA_WORKERS: '1',
      ROOMS_MAX: String(ROOMS_MAX),
      SIGNALING_MAX_SOCKETS_PER_ADDRESS: String(SOCKETS_PER_ADDRESS),
      SIGNALING_MESSAGES_PER_SECOND: String(MESSAGES_PER_SECOND),
      SIGNALING_MESSAGE_BURST: String(MESSAGE_BURST),
    });
    url = signalingUrl(bridge.url);
  });
  afterAll(() => bridge?.stop());

  it('refuses a socket beyond the per-address cap with the reason, and takes one again once another closed; services do not count', async () => {
    // A gateway's socket per call: once they present the SERVICE_SECRET, they are not a stranger's.
    const services = [];
    for (let i = 0; i < SOCKETS_PER_ADDRESS + 5; i++) services.push(await joinRoom(bridge.url, 'calls', `Call ${i}`, 'service'));
    const sockets = Array.from({ length: SOCKETS_PER_ADDRESS }, () => rawSocket(url));
    expect(await Promise.all(sockets.map(served))).toEqual(sockets.map(() => true));

    const over = rawSocket(url);
    const closed = await waitFor('the socket over the cap to be closed', () => over.closed);
    expect(closed).toEqual({ code: 1008, reason: `too many connections from your address (at most ${SOCKETS_PER_ADDRESS})` });
    // Without TRUST_PROXY, nobody's X-Forwarded-For is believed: a forged one does not escape the cap.
    const forged = rawSocket(url, undefined, '198.51.100.9');
    expect(await waitFor('the forged socket to be closed', () => forged.closed)).toMatchObject({ code: 1008 });

    sockets[0]!.ws.close();
    // The bridge counts the close when it sees it: a retry soon after is served.
    await waitFor('a new socket to be served after one closed', async () => {
      const retry = rawSocket(url);
      if (await served(retry)) return sockets.push(retry);
      return false;
    });
    await closeAll(sockets);
    for (const service of services) service.client.close();
    await waitFor('the room to close', () => bridge.registry.size === 0);
  });

  it('behind a proxy listed in TRUST_PROXY, counts each forwarded client on its own', async () => {
    const proxied = await startBridge({ MEDIA_WORKERS: '1', TRUST_PROXY: '127.0.0.0/8', SIGNALING_MAX_SOCKETS_PER_ADDRESS: '2' });
    try {
      const proxiedUrl = signalingUrl(proxied.url);
      const first = [rawSocket(proxiedUrl, undefined, '203.0.113.1'), rawSocket(proxiedUrl, undefined, '203.0.113.1')];
      expect(await Promise.all(first.map(served))).toEqual([true, true]);
      const third = rawSocket(proxiedUrl, undefined, '203.0.113.1');
      expect(await waitFor('the client over its cap to be closed', () => third.closed)).toMatchObject({ code: 1008 });
      const other = rawSocket(proxiedUrl, undefined, '203.0.113.2'); // another browser behind the same proxy
      expect(await served(other)).toBe(true);
      await closeAll([...first, other]);
    } finally {
      await proxied.stop();
    }
  });

  it("refuses another site's Origin before the upgrade; no Origin and the bridge's own origin pass", async () => {
    const { port } = new URL(bridge.url);
    const own = rawSocket(url, `http://127.0.0.1:${port}`);
    // Plain HTTP may be HTTPS to the browser (a TLS proxy in front keeps the Host).
    const ownBehindTls = rawSocket(url, `https://127.0.0.1:${port}`);
    const service = rawSocket(url);
    expect(await served(own)).toBe(true);
    expect(await served(ownBehindTls)).toBe(true);
    expect(await served(service)).toBe(true);

    for (const origin of ['https://evil.example', `http://localhost:${port}`, `http://127.0.0.1:${Number(port) + 1}`, 'null']) {
      const foreign = rawSocket(url, origin);
      const refused = await waitFor(`the upgrade from ${origin} to be refused`, () => foreign.refused);
      expect(refused.status, origin).toBe(403);
      expect(refused.body).toContain(`origin ${origin} may not open`);
      expect(foreign.ws.readyState).not.toBe(WebSocket.OPEN);
    }
    await closeAll([own, ownBehindTls, service]);
  });

  it('with ALLOWED_ORIGINS set, lets those origins in and no other, its own included', async () => {
    const listed = await startBridge({ MEDIA_WORKERS: '1', ALLOWED_ORIGINS: 'https://meet.example.com, https://intranet.example.com:8443/' });
    try {
      const listedUrl = signalingUrl(listed.url);
      const sockets = ['https://meet.example.com', 'https://intranet.example.com:8443'].map((origin) => rawSocket(listedUrl, origin));
      expect(await Promise.all(sockets.map(served))).toEqual([true, true]);
      for (const origin of ['http://meet.example.com', 'https://intranet.example.com', new URL(listed.url).origin]) {
        const socket = rawSocket(listedUrl, origin);
        const refused = await waitFor(`the upgrade from ${origin} to be refused`, () => socket.refused);
        expect(refused.status, origin).toBe(403);
      }
      await closeAll(sockets);
    } finally {
      await listed.stop();
    }
  });

  it('answers a flooding socket with rateLimited, then closes it, while two others in its room keep their media and requests', async () => {
    // A real media path between two other peers in the room under attack.
    const speaker = await joinRoom(bridge.url, 'target', 'Speaker', 'service');
    const listener = await joinRoom(bridge.url, 'target', 'Listener', 'service');
    const inbound = await speaker.client.request('createPlainTransport', { comedia: true });
    const sender = new RtpSender();
    await sender.bind();
    sender.start({ ip: inbound.ip, port: inbound.port }, { payloadType: OPUS.payloadType, ssrc: 7777 });
    const { producerId } = await speaker.client.request('produce', {
      transportId: inbound.id,
      kind: 'audio',
      source: 'mic',
      rtpParameters: { codecs: [OPUS], encodings: [{ ssrc: 7777 }] },
    });
    const receiver = new RtpReceiver();
    const port = await receiver.bind();
    const outbound = await listener.client.request('createPlainTransport', { comedia: false });
    await listener.client.request('connectPlainTransport', { transportId: outbound.id, ip: '127.0.0.1', port });
    await listener.client.request('consume', { transportId: outbound.id, producerId, rtpCapabilities: listener.joined.routerRtpCapabilities });
    try {
      await waitFor('media before the flood', () => receiver.count >= 20);

      const attacker = rawSocket(url);
      expect((await request(attacker, 'join', { room: 'target', displayName: 'Attacker' }))?.ok).toBe(true);
      // Chat, so what was processed shows: each one processed reaches the others.
      const FLOOD = 2000;
      const firstId = nextId;
      for (let i = 0; i < FLOOD; i++) attacker.ws.send(JSON.stringify({ id: nextId++, method: 'chat', data: { text: `spam ${i}` } }));
      const beforeFlood = receiver.count;

      const closed = await waitFor('the flooding socket to be closed', () => attacker.closed);
      expect(closed).toEqual({ code: 1008, reason: 'too many messages: kept sending after rateLimited replies' });
      const limited = attacker.replies.filter((r) => r.id !== null && r.id >= firstId && !r.ok);
      expect(new Set(limited.map((r) => r.error!.code))).toEqual(new Set(['rateLimited']));
      expect(limited[0]!.error!.message).toMatch(/^slow down: at most 20 messages per second/);
      // Each refusal answers its request (a client's pending request fails instead of timing out).
      expect(new Set(limited.map((r) => r.id)).size).toBe(limited.length);
      // About a burst processed, about a burst refused (plus what refilled meanwhile), the rest dropped with the socket.
      expect(limited.length).toBeGreaterThanOrEqual(MESSAGE_BURST);
      expect(limited.length).toBeLessThan(FLOOD / 4);
      await waitFor('the processed chat to reach the listener', () => listener.notificationsOf('chat').length >= MESSAGE_BURST - 1);
      expect(listener.notificationsOf('chat').length).toBeLessThan(FLOOD / 4);

      // The others never lost their media or their signaling.
      await waitFor('media during and after the flood', () => receiver.count >= beforeFlood + 50);
      await speaker.client.request('setProducerPaused', { producerId, paused: false });
      await listener.client.request('ping', {});
      await waitFor('the attacker to have left the room', () => bridge.registry.get('target')?.visiblePeers().length === 0);
    } finally {
      sender.close();
      receiver.close();
      speaker.client.close();
      listener.client.close();
    }
    await waitFor('the room to close', () => bridge.registry.size === 0);
  });

  it('stops 1,000 room creations from one address at the caps, and leaks no room', async () => {
    const attempts = Array.from({ length: 1000 }, () => rawSocket(url));
    const joins = await Promise.all(attempts.map((socket, i) => request(socket, 'join', { room: `crowd-${i}`, displayName: `Crowd ${i}` })));

    const accepted = joins.filter((j) => j !== undefined);
    const refusedSockets = attempts.filter((s) => s.closed?.code === 1008);
    expect(accepted.length).toBeLessThanOrEqual(SOCKETS_PER_ADDRESS);
    expect(accepted.length + refusedSockets.length).toBe(attempts.length);
    const created = accepted.filter((j) => j.ok);
    const unavailable = accepted.filter((j) => j.error?.code === 'unavailable');
    expect(created).toHaveLength(ROOMS_MAX);
    expect(unavailable).toHaveLength(accepted.length - ROOMS_MAX);
    expect(unavailable[0]!.error!.message).toBe(`this bridge hosts its maximum of ${ROOMS_MAX} rooms`);
    expect(bridge.registry.size).toBe(ROOMS_MAX);

    await closeAll(attempts);
    await waitFor('every room closed with its last socket', () => bridge.registry.size === 0);
    // A room can be made again once there is space.
    const later = await joinRoom(bridge.url, 'later', 'Later', 'web');
    later.client.close();
    await waitFor('the room to close', () => bridge.registry.size === 0);
  }, 60_000);

  it('lets a service open a plain transport each way, not more; a browser none', async () => {
    const service = await joinRoom(bridge.url, 'plain', 'Gateway', 'service');
    const browser = await joinRoom(bridge.url, 'plain', 'Browser', 'web');
    try {
      await service.client.request('createPlainTransport', { comedia: true, rtcpMux: true });
      await service.client.request('createPlainTransport', { comedia: false, rtcpMux: true });
      await expect(service.client.request('createPlainTransport', { comedia: false, rtcpMux: true })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('at most 2 plain RTP transports per peer'),
      });
      await expect(browser.client.request('createPlainTransport', { comedia: true, rtcpMux: true })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('plain RTP transports are for services'),
      });
      // WebRTC transports are not counted against the plain cap.
      await service.client.request('createWebRtcTransport', { direction: 'recv' });
    } finally {
      service.client.close();
      browser.client.close();
    }
    await waitFor('the room to close', () => bridge.registry.size === 0);
  });
});
