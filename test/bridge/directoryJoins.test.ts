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
