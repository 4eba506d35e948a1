// A bridge's trust in the other bridges of its deployment (BRIDGE_CA_FILE):
// a room's home serves HTTPS with a certificate of a CA of the test's own;
// a bridge of another region given that CA links to it and serves a join of
// its region as the home's satellite, while one without it cannot link, and
// sends the join to the home. Bridges in this process, on loopback.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingClient, SignalingError } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { freePort } from '../helpers/ports.ts';
import { TestRedis } from '../helpers/redis.ts';
import { joinRoom, signalingUrl, type Joined } from '../helpers/signaling.ts';
import { TestCa } from '../helpers/testCa.ts';

const ROOM = 'trusted';

describe('cascade links to a bridge with a certificate of the deployment\'s own CA', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cascade-trust-'));
  let redis: TestRedis;
  const bridges: Bridge[] = [];
  let home: Bridge;
  let homeHttpsPort: number;
  let alice: Joined;
  const clients: SignalingClient[] = [];

  beforeAll(async () => {
    redis = await TestRedis.start();
    const ca = await TestCa.create(path.join(dir, 'ca'), 'Deployment CA');
    const cert = await ca.issue('127.0.0.1');
    const httpPort = await freePort();
    homeHttpsPort = await freePort();
    const common = { MEDIA_WORKERS: '1', REDIS_URL: redis.url };
    home = await startBridge({ ...common, BRIDGE_ID: 'home', BRIDGE_REGION: 'a', HTTP_PORT: String(httpPort), HTTPS_PORT: String(homeHttpsPort), TLS_CERT: cert.cert, TLS_KEY: cert.key });
    bridges.push(home);
    bridges.push(await startBridge({ ...common, BRIDGE_ID: 'trusting', BRIDGE_REGION: 'b', BRIDGE_CA_FILE: ca.certificate }));
    bridges.push(await startBridge({ ...common, BRIDGE_ID: 'stranger', BRIDGE_REGION: 'b' }));
    // This process does not trust the CA: it reaches the home on plain HTTP, which the bridge answers for loopback.
    alice = await joinRoom(`http://127.0.0.1:${httpPort}`, ROOM, 'Alice', 'web');
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    alice?.client.close();
    for (const bridge of bridges.reverse()) await bridge.stop();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Joins through `bridge` saying it is in region b; the room's bridge says where to go when it is not served there. */
  async function joinInRegionB(bridge: Bridge): Promise<{ served: true } | { elsewhere: string }> {
    const client = await SignalingClient.connect(signalingUrl(bridge.url), { followRedirects: false });
    clients.push(client);
    try {
      await client.request('join', { room: ROOM, displayName: 'Bob', kind: 'web', region: 'b' });
      return { served: true };
    } catch (error) {
      if (error instanceof SignalingError && error.code === 'elsewhere') return { elsewhere: error.bridgeUrl ?? '' };
      throw error;
    }
  }

  it('cannot link without the CA (the join is sent to the home), and links with it (the join is served there)', async () => {
    const [, trusting, stranger] = bridges as [Bridge, Bridge, Bridge];
    // First, while the home links no other bridge: it takes one per meeting.
    // The home's URL in the directory, where the link goes, is its HTTPS one.
    expect(await joinInRegionB(stranger)).toEqual({ elsewhere: `https://127.0.0.1:${homeHttpsPort}` });
    expect(stranger.registry.get(ROOM)).toBeUndefined();
    expect(home.registry.get(ROOM)?.linkedBridges.size).toBe(0);
    expect(await joinInRegionB(trusting)).toEqual({ served: true });
    expect(trusting.registry.get(ROOM)?.linkedBridges).toEqual(new Set(['home']));
    expect(home.registry.get(ROOM)?.linkedBridges).toEqual(new Set(['trusting']));
  }, 30_000);
});
