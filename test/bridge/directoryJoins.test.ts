// Joins through the room directory (two bridges sharing a real Redis), where
// access control and placement meet: a stranger's refused join places
// nothing, and a secure room whose guest waits for its host keeps its home
// while it waits, so the host, coming through the other bridge, is sent there.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { directoryKeys } from '../../bridge/directory/BridgeDirectory.ts';
import { SignalingClient, SignalingError } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { TestRedis } from '../helpers/redis.ts';
import { joinRoom, joinToken, signalingUrl } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** Records live three heartbeats: 0.6 s here, so a wait of a few seconds outlives many. */
const HEARTBEAT_MS = '200';

describe('joins through the room directory', () => {
  let redis: TestRedis;
  let inspect: Redis;
  const bridges: Bridge[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    inspect = new Redis(redis.url);
  });
  afterAll(async () => {
    for (const bridge of bridges) await bridge.stop();
    inspect?.disconnect();
    await redis?.stop();
  });

  const start = async (env: Record<string, string>) => {
    const bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, BRIDGE_HEARTBEAT_MS: HEARTBEAT_MS, ...env });
    bridges.push(bridge);
    return bridge;
  };

  it('refuses a stranger before placing anything: no room recorded, no load counted', async () => {
    const bridge = await start({ AUTH_MODE: 'token', BRIDGE_ID: 'token-only' });
    const client = await SignalingClient.connect(signalingUrl(bridge.url));
    try {
      for (let i = 0; i < 5; i++) {
        await expect(client.request('join', { room: `stranger-${i}`, displayName: 'Stranger', kind: 'web' })).rejects.toMatchObject({ code: 'unauthorized' });
        expect(await inspect.exists(directoryKeys.room(`stranger-${i}`))).toBe(0);
      }
      expect(Number(await inspect.hget(directoryKeys.bridge('token-only'), 'load'))).toBe(0);
    } finally {
      client.close();
    }
  });

  it('follows no record that does not verify: a bridge forged in Redis gets no new room, and a room it claims is not sent to it', async () => {
    // A Redis of its own: only this bridge and the forged one are in its directory.
    const own = await TestRedis.start();
    const write = new Redis(own.url);
    const real = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: own.url, BRIDGE_HEARTBEAT_MS: HEARTBEAT_MS, BRIDGE_ID: 'real' });
    const present = await joinRoom(real.url, 'busy', 'Present', 'web'); // real's load above the forged one's
    // What anyone able to write to Redis could add: a bridge at an address of their choosing, idle and
    // vast, without the deployment's signature, and a room said to live there.
    await write.hset(directoryKeys.bridge('forged'), { url: 'http://127.0.0.1:9', load: 0, capacity: 1_000_000, sig: 'not-a-signature' });
    await write.sadd(directoryKeys.bridges, 'forged');
    await write.set(directoryKeys.room('claimed'), 'forged');
    try {
      for (const room of ['fresh', 'claimed']) {
        const peer = await joinRoom(real.url, room, 'Visitor', 'web');
        expect(peer.client.url.startsWith(signalingUrl(real.url))).toBe(true);
        expect(real.registry.get(room)?.visiblePeers().length).toBe(1);
        if (room === 'fresh') expect(await write.get(directoryKeys.room(room))).toBe('real');
        if (room === 'claimed') {
          // Heartbeats since: a room another bridge holds is closed here, but only if that bridge's record verifies.
          const beats = real.directory!.roundTrips.publish;
          await waitFor('two heartbeats after the join', () => real.directory!.roundTrips.publish >= beats + 2, 20 * Number(HEARTBEAT_MS), 20);
          expect(real.registry.get(room)?.visiblePeers().length).toBe(1);
          expect(peer.notificationsOf('disconnected')).toEqual([]);
        }
        peer.client.close();
      }
    } finally {
      present.client.close();
      await real.stop();
      write.disconnect();
      await own.stop();
    }
  });

  it('keeps a secure room on the bridge where its guest waits; the host, through the other bridge, is sent there and lets the guest in', async () => {
    const env = { AUTH_MODE: 'secure', LOBBY_TIMEOUT_SECONDS: '20' };
    const waitingOn = await start({ ...env, BRIDGE_ID: 'secure-a' });
    const other = await start({ ...env, BRIDGE_ID: 'secure-b' });
    const guest = await SignalingClient.connect(signalingUrl(waitingOn.url));
    try {
      let told = false;
      guest.on('waitingForHost', () => (told = true));
      const joining = guest.request('join', { room: 'boardroom', displayName: 'Guest', kind: 'web' });
      await waitFor('the guest told to wait', () => told, 5_000);
      // Its record outlives its lifetime many times over: refreshed by the bridge where the guest waits.
      const key = directoryKeys.room('boardroom');
      let refreshes = 0;
      let lastTtl = Infinity;
      let owner: string | null = null;
      await waitFor('the room\'s record refreshed five times, or gone', async () => {
        const [ttl, current] = await Promise.all([inspect.pttl(key), inspect.get(key)]);
        owner = current;
        if (ttl > lastTtl) refreshes++;
        lastTtl = ttl;
        return refreshes >= 5 || owner !== 'secure-a';
      }, 10_000, 50);
      expect(owner).toBe('secure-a');

      const host = await joinRoom(other.url, 'boardroom', 'Host', 'web', { token: await joinToken({ room: 'boardroom', role: 'moderator' }) });
      expect(host.client.url.startsWith(signalingUrl(waitingOn.url))).toBe(true);
      const joined = await joining;
      expect(joined.peers.map((peer) => peer.displayName)).toEqual(['Host']);
      host.client.close();
    } catch (error) {
      if (error instanceof SignalingError) throw new Error(`${error.code}: ${error.message}`);
      throw error;
    } finally {
      guest.close();
    }
  }, 40_000);
});
