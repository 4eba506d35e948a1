// TURN credentials from a real bridge: each admitted join gets its own, made
// by coturn's REST scheme from TURN_SECRET; a rejoin gets fresh ones; a
// refused join gets nothing; an ICE restart and a media restart (a worker
// died) bring fresh ones, since the join's may have expired by then (coturn
// checks the expiry at each allocation); a bridge without TURN gives none.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { IceServer, NotificationData } from '../../protocol/protocol.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const TURN_URLS = ['turn:198.18.9.2:443?transport=tcp', 'turns:198.18.9.2:443?transport=tcp'];
const TURN_SECRET = 'bridge-test-turn-secret-0123';
const TTL_SECONDS = 600;

const unixNow = () => Math.floor(Date.now() / 1000);
const expiryOf = (server: IceServer) => Number(server.username.split(':')[0]);

/**
 * `iceServers` is one server: the bridge's TURN URLs, with a username for
 * `peerId` expiring TTL_SECONDS after it was issued (between `from` and now,
 * in unix seconds) and coturn's HMAC of it as the credential. Its expiry.
 */
function expectIssued(iceServers: IceServer[] | undefined, peerId: string, from: number): number {
  const [server, ...more] = iceServers ?? [];
  expect(more).toEqual([]);
  expect(server!.urls).toEqual(TURN_URLS);
  expect(server!.username.split(':')[1]).toBe(peerId);
  expect(expiryOf(server!)).toBeGreaterThanOrEqual(from + TTL_SECONDS);
  expect(expiryOf(server!)).toBeLessThanOrEqual(unixNow() + TTL_SECONDS);
  expect(server!.credential).toBe(createHmac('sha1', TURN_SECRET).update(server!.username).digest('base64'));
  return expiryOf(server!);
}

/** Waits until credentials issued now would expire later than `expiry`, so fresh ones can be told from those. */
function pastExpiry(expiry: number): Promise<boolean> {
  return waitFor('the next second', () => unixNow() + TTL_SECONDS > expiry, 2_000, 20);
}

/** Kills the media worker of `room` and waits for every peer's mediaRestart notification. */
async function killWorkerOf(bridge: Bridge, room: string, peers: Joined[]): Promise<NotificationData<'mediaRestart'>[]> {
  process.kill(bridge.registry.get(room)!.worker.pid, 'SIGKILL');
  await waitFor('mediaRestart at every peer', () => peers.every((p) => p.notificationsOf('mediaRestart').length > 0), 15_000);
  return peers.map((p) => p.notificationsOf('mediaRestart')[0]!);
}

describe('TURN credentials', () => {
  let bridge: Bridge;
  let plain: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', TURN_URLS: TURN_URLS.join(','), TURN_SECRET, TURN_CREDENTIAL_TTL_SECONDS: String(TTL_SECONDS) });
    plain = await startBridge({ MEDIA_WORKERS: '1' });
  });
  afterAll(async () => {
    await bridge?.stop();
    await plain?.stop();
  });

  it('in the join response are the joined peer\'s own, valid for the TTL, and coturn\'s HMAC of the username', async () => {
    const before = unixNow();
    const alice = await joinRoom(bridge.url, 'relay', 'Alice', 'web');
    expectIssued(alice.joined.iceServers, alice.joined.peerId, before);
    alice.client.close();
  });

  it('are fresh on a rejoin, and not given to a join that is refused', async () => {
    const host = await joinRoom(bridge.url, 'relay-again', 'Host', 'web');
    const first = await joinRoom(bridge.url, 'relay-again', 'Bob', 'web');
    first.client.close();
    const again = await joinRoom(bridge.url, 'relay-again', 'Bob', 'web');
    expect(again.joined.peerId).not.toBe(first.joined.peerId);
    expect(again.joined.iceServers![0]!.username).not.toBe(first.joined.iceServers![0]!.username);
    expect(again.joined.iceServers![0]!.credential).not.toBe(first.joined.iceServers![0]!.credential);
    again.client.close();
    // Locked: a wrong password is refused with an error, which carries nothing of the room (nor a way through TURN).
    await host.client.request('setRoomPassword', { password: '4321' });
    const refused = await joinRoom(bridge.url, 'relay-again', 'Mallory', 'web', { password: '0000' }).then(
      () => 'joined',
      (error: Error) => error.message,
    );
    expect(refused).not.toBe('joined');
    host.client.close();
  });

  it('are renewed by an ICE restart', async () => {
    const dave = await joinRoom(bridge.url, 'restart', 'Dave', 'web');
    const joinExpiry = expectIssued(dave.joined.iceServers, dave.joined.peerId, unixNow() - 1);
    const transport = await dave.client.request('createWebRtcTransport', { direction: 'recv' });
    await pastExpiry(joinExpiry);
    const before = unixNow();
    const restarted = await dave.client.request('restartIce', { transportId: transport.id });
    expect(restarted.iceParameters.usernameFragment).not.toBe(transport.iceParameters.usernameFragment);
    expect(expectIssued(restarted.iceServers, dave.joined.peerId, before)).toBeGreaterThan(joinExpiry);
    dave.client.close();
  });

  it('are not given by a bridge without TURN_URLS, at join or at an ICE restart', async () => {
    const carol = await joinRoom(plain.url, 'direct', 'Carol', 'web');
    expect(carol.joined).not.toHaveProperty('iceServers');
    const transport = await carol.client.request('createWebRtcTransport', { direction: 'recv' });
    const restarted = await carol.client.request('restartIce', { transportId: transport.id });
    expect(restarted.iceParameters.usernameFragment).not.toBe(transport.iceParameters.usernameFragment);
    expect(restarted).not.toHaveProperty('iceServers');
    carol.client.close();
  });

  // These two kill each bridge's only worker: last.
  it('come fresh, each peer its own, with a media restart (the room\'s worker died)', async () => {
    const erin = await joinRoom(bridge.url, 'moved', 'Erin', 'web');
    const frank = await joinRoom(bridge.url, 'moved', 'Frank', 'web');
    const joinExpiry = Math.max(expiryOf(erin.joined.iceServers![0]!), expiryOf(frank.joined.iceServers![0]!));
    await pastExpiry(joinExpiry);
    const before = unixNow();
    const restarts = await killWorkerOf(bridge, 'moved', [erin, frank]);
    for (const [i, peer] of [erin, frank].entries()) {
      expect(expectIssued(restarts[i]!.iceServers, peer.joined.peerId, before)).toBeGreaterThan(joinExpiry);
    }
    erin.client.close();
    frank.client.close();
  });

  it('are not given with a media restart by a bridge without TURN_URLS', async () => {
    const grace = await joinRoom(plain.url, 'moved', 'Grace', 'web');
    const [restart] = await killWorkerOf(plain, 'moved', [grace]);
    expect(restart!.routerRtpCapabilities.codecs?.length).toBeGreaterThan(0);
    expect(restart).not.toHaveProperty('iceServers');
    grace.client.close();
  });
});
