import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingError } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinRoom, signalingUrl } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** A raw socket for sending what a well-behaved client never would. */
async function rawSocket(httpUrl: string) {
  const ws = new WebSocket(signalingUrl(httpUrl));
  const replies: { id: number | null; ok: boolean; error?: { code: string; message: string }; data?: unknown }[] = [];
  ws.on('message', (raw) => {
    const message = JSON.parse(String(raw));
    if ('ok' in message) replies.push(message);
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  return { ws, replies };
}

async function expectRefusal(promise: Promise<unknown>, code: string, messagePart?: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignalingError);
  expect((error as SignalingError).code).toBe(code);
  if (messagePart) expect((error as SignalingError).message).toContain(messagePart);
}

describe('signaling protocol', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ ROOM_MAX_PEERS: '3', SIGNALING_MAX_MESSAGE_BYTES: '4096' });
  });
  afterAll(() => bridge?.stop());

  it('joins a room, announces peers to each other and removes them on leave', async () => {
    const alice = await joinRoom(bridge.url, 'lobby', 'Alice', 'web');
    expect(alice.joined.room).toBe('lobby');
    expect(alice.joined.peers).toEqual([]);
    expect(alice.joined.routerRtpCapabilities.codecs?.map((c) => c.mimeType)).toEqual(
      expect.arrayContaining(['audio/opus', 'audio/PCMU', 'audio/PCMA', 'video/VP8']),
    );

    const bob = await joinRoom(bridge.url, 'lobby', 'Bob', 'web');
    expect(bob.joined.peers.map((p) => p.displayName)).toEqual(['Alice']);
    const joinedNote = await waitFor('Alice to hear of Bob', () => alice.notificationsOf('peerJoined')[0]);
    expect(joinedNote.peer).toMatchObject({ id: bob.joined.peerId, displayName: 'Bob', kind: 'web', handRaised: false });

    bob.client.close();
    const left = await waitFor('Alice to hear Bob left', () => alice.notificationsOf('peerLeft')[0]);
    expect(left.peerId).toBe(bob.joined.peerId);

    // A service can leave without closing its connection, and join elsewhere.
    const carol = await joinRoom(bridge.url, 'lobby', 'Carol');
    await carol.client.request('leave', {});
    await waitFor('Alice to hear Carol left', () => alice.notificationsOf('peerLeft').some((n) => n.peerId === carol.joined.peerId));
    const again = await carol.client.request('join', { room: 'elsewhere', displayName: 'Carol' });
    expect(again.room).toBe('elsewhere');
    carol.client.close();
    alice.client.close();
    await waitFor('the empty room to close', () => !bridge.registry.get('lobby'));
  });

  it('refuses requests before join, a second join, and data that does not fit the schema', async () => {
    const early = await joinRoom(bridge.url, 'order', 'Early');
    const { client } = early;
    await expectRefusal(client.request('join', { room: 'order', displayName: 'Again' }), 'alreadyJoined');
    await expectRefusal(
      client.request('setPreferredLayers', { consumerId: 'x', spatialLayer: 7 }),
      'invalidData',
      'spatialLayer',
    );
    await expectRefusal(client.request('closeProducer', { producerId: 'nope' }), 'notFound', 'nope');
    client.close();

    const { ws, replies } = await rawSocket(bridge.url);
    ws.send(JSON.stringify({ id: 1, method: 'createWebRtcTransport', data: { direction: 'send' } }));
    ws.send(JSON.stringify({ id: 2, method: 'join', data: { room: 'bad room name!', displayName: 'X' } }));
    await waitFor('two replies', () => replies.length === 2);
    replies.sort((a, b) => a.id! - b.id!); // replies correlate by id, not by order
    expect(replies[0]).toMatchObject({ id: 1, ok: false, error: { code: 'notJoined' } });
    expect(replies[1]).toMatchObject({ id: 2, ok: false, error: { code: 'invalidData' } });
    expect(replies[1]!.error!.message).toContain('room');
    ws.close();
  });

  it('answers malformed, unknown, binary and oversized messages with an error naming the problem', async () => {
    const { ws, replies } = await rawSocket(bridge.url);
    ws.send('{not json');
    ws.send(JSON.stringify({ method: 'join' }));
    ws.send(JSON.stringify({ id: 5, method: 'teleport', data: {} }));
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    ws.send(JSON.stringify({ id: 6, method: 'chat', data: { text: 'x'.repeat(5000) } }));
    await waitFor('five replies', () => replies.length === 5);
    expect(replies.map((r) => r.error?.code)).toEqual(['malformed', 'malformed', 'unknownMethod', 'malformed', 'tooLarge']);
    expect(replies[0]!.error!.message).toContain('JSON');
    expect(replies[1]!.error!.message).toContain('id');
    expect(replies[2]).toMatchObject({ id: 5, error: { message: expect.stringContaining('teleport') } });
    expect(replies[4]!.error!.message).toContain('4096');
    // The connection survived all of it and still works.
    ws.send(JSON.stringify({ id: 7, method: 'join', data: { room: 'survivor', displayName: 'S' } }));
    await waitFor('the join reply', () => replies.length === 6);
    expect(replies[5]).toMatchObject({ id: 7, ok: true });
    ws.close();
  });

  it('delivers chat to everyone else and replays recent history to late joiners', async () => {
    const alice = await joinRoom(bridge.url, 'chatroom', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'chatroom', 'Bob', 'web');
    const { message } = await alice.client.request('chat', { text: '  hello bob  ' });
    expect(message).toMatchObject({ displayName: 'Alice', text: 'hello bob', peerId: alice.joined.peerId });
    const got = await waitFor('Bob to get the chat', () => bob.notificationsOf('chat')[0]);
    expect(got.message).toEqual(message);
    expect(alice.notificationsOf('chat')).toEqual([]); // the sender is answered, not notified

    const carol = await joinRoom(bridge.url, 'chatroom', 'Carol', 'web');
    expect(carol.joined.chat).toEqual([message]);
    for (const peer of [alice, bob, carol]) peer.client.close();
  });

  it('announces raised hands and new display names', async () => {
    const alice = await joinRoom(bridge.url, 'hands', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'hands', 'Bob', 'web');
    await alice.client.request('setHandRaised', { raised: true });
    await alice.client.request('setDisplayName', { displayName: 'Alice B.' });
    await waitFor('both updates at Bob', () => bob.notificationsOf('peerUpdated').length >= 2);
    const updates = bob.notificationsOf('peerUpdated').map((u) => u.peer);
    expect(updates[0]).toMatchObject({ id: alice.joined.peerId, handRaised: true, displayName: 'Alice' });
    expect(updates[1]).toMatchObject({ handRaised: true, displayName: 'Alice B.' });
    alice.client.close();
    bob.client.close();
  });

  it('says a full room is full and lets hidden recorders and services in anyway', async () => {
    const peers = await Promise.all(['A', 'B', 'C'].map((name) => joinRoom(bridge.url, 'packed', name, 'web')));
    await expectRefusal(joinRoom(bridge.url, 'packed', 'D', 'web'), 'roomFull', '3 participants');
    const recorder = await joinRoom(bridge.url, 'packed', 'Recorder', 'recorder');
    const listener = await joinRoom(bridge.url, 'packed', 'Gateway listener', 'service');
    // They see the three participants; nobody is told about them. A chat
    // sent after they joined marks the point by which a notice would have come.
    expect(recorder.joined.peers).toHaveLength(3);
    expect(listener.joined.peers).toHaveLength(3);
    await peers[0]!.client.request('chat', { text: 'barrier' });
    for (const p of peers.slice(1)) {
      await waitFor('the barrier chat', () => p.notificationsOf('chat').length === 1);
      const announced = p.notificationsOf('peerJoined').map((n) => n.peer.displayName);
      expect(announced).not.toContain('Recorder');
      expect(announced).not.toContain('Gateway listener');
    }
    for (const p of [...peers, recorder, listener]) p.client.close();
  });

  it('offers WebRTC on the worker’s one port, UDP first and TCP as fallback, and receives the room on one transport', async () => {
    const peer = await joinRoom(bridge.url, 'ice', 'Browser', 'web');
    const transport = await peer.client.request('createWebRtcTransport', { direction: 'recv' });
    const candidates = transport.iceCandidates.map((c) => `${c.protocol}:${c.ip}:${c.port}`);
    const udp = transport.iceCandidates.find((c) => c.protocol === 'udp')!;
    expect(candidates).toEqual([`udp:127.0.0.1:${udp.port}`, `tcp:127.0.0.1:${udp.port}`]);
    expect(transport.iceCandidates[0]!.priority).toBeGreaterThan(transport.iceCandidates[1]!.priority);

    const caps = peer.joined.routerRtpCapabilities;
    await peer.client.request('subscribe', { transportId: transport.id, rtpCapabilities: caps });
    await expectRefusal(peer.client.request('subscribe', { transportId: transport.id, rtpCapabilities: caps }), 'forbidden', 'already');
    peer.client.close();
  });

  it('places new rooms on the least-loaded worker', async () => {
    const busy = await Promise.all(['A', 'B', 'C'].map((n) => joinRoom(bridge.url, 'busy', n, 'web')));
    const quiet = await joinRoom(bridge.url, 'quiet', 'D', 'web');
    const busyWorker = bridge.registry.get('busy')!.worker;
    expect(bridge.registry.get('quiet')!.worker).not.toBe(busyWorker);
    // 'busy' has 3 peers and 'quiet' 1: the next room goes to the worker hosting 'quiet'.
    const next = await joinRoom(bridge.url, 'next', 'E', 'web');
    expect(bridge.registry.get('next')!.worker).toBe(bridge.registry.get('quiet')!.worker);
    for (const p of [...busy, quiet, next]) p.client.close();
  });

  it('keeps room names off the paths the bridge serves itself', async () => {
    await expectRefusal(joinRoom(bridge.url, 'api', 'X'), 'invalidData', 'reserved');
  });

  it('keeps plain RTP transports for services', async () => {
    const web = await joinRoom(bridge.url, 'plain-only', 'Browser', 'web');
    await expectRefusal(web.client.request('createPlainTransport', { comedia: true }), 'forbidden');
    const service = await joinRoom(bridge.url, 'plain-only', 'Gateway', 'service');
    const transport = await service.client.request('createPlainTransport', { comedia: true });
    expect(transport.ip).toBe('127.0.0.1');
    expect(transport.port).toBeGreaterThan(0);
    web.client.close();
    service.client.close();
  });
});
