// The room directory's cost per join, side by side in one run: a bridge
// alone (no REDIS_URL) against two bridges sharing a real redis-server, all
// in this process on loopback. A join is timed from opening the signaling
// socket to the join's answer (a join sent to another bridge opens a second
// socket, so the socket counts); the socket then closes. Cases, alternated
// join by join so all see the same machine load:
//   new room, alone                  - the room is made here
//   new room, directory              - placed (looked up, claimed) on the bridge reached (the less loaded)
//   live room, alone                 - a host is in it already
//   live room, directory, its home   - reached the room's own bridge: no Redis at all
//   live room, directory, elsewhere  - reached the other bridge: looked up, sent on, joined there
// Redis round trips on each join's path are counted by the bridges
// themselves (BridgeDirectory.roundTrips); heartbeats are set to a minute so
// none falls inside the measurement.
//
//   npm run bench:directory -- --joins 200
import { parseArgs } from 'node:util';
import type { Bridge } from '../bridge/Bridge.ts';
import type { RequestData } from '../protocol/protocol.ts';
import { SignalingClient } from '../protocol/SignalingClient.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { TestRedis } from '../test/helpers/redis.ts';
import { joinRoom, signalingUrl } from '../test/helpers/signaling.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '200' } } });
const JOINS = Number(values.joins);

/** ms from opening a socket on `bridge` to the join's answer, and the bridge that answered. */
async function timeJoin(bridge: Bridge, join: RequestData<'join'>): Promise<{ ms: number; url: string }> {
  const start = performance.now();
  const client = await SignalingClient.connect(signalingUrl(bridge.url));
  try {
    await client.request('join', join);
    return { ms: performance.now() - start, url: client.url };
  } finally {
    client.close();
  }
}

const redis = await TestRedis.start();
const common = { MEDIA_WORKERS: '1', LOG_LEVEL: 'warn', SIGNALING_MAX_SOCKETS_PER_ADDRESS: '1000', ROOMS_MAX: '2000' };
const directory = { ...common, REDIS_URL: redis.url, BRIDGE_HEARTBEAT_MS: '60000' };
const alone = await startBridge(common);
const home = await startBridge({ ...directory, BRIDGE_ID: 'home' });
const other = await startBridge({ ...directory, BRIDGE_ID: 'other' });
const both = [home, other];
const cases = ['new room, alone', 'new room, directory', 'live room, alone', 'live room, directory, its home', 'live room, directory, elsewhere'] as const;
type Case = (typeof cases)[number];
const times = Object.fromEntries(cases.map((c) => [c, [] as number[]])) as Record<Case, number[]>;
const trips = Object.fromEntries(cases.map((c) => [c, 0])) as Record<Case, number>;
const joinPathTrips = () => both.reduce((sum, bridge) => sum + bridge.directory!.roundTrips.lookup + bridge.directory!.roundTrips.claim, 0);
try {
  // Live rooms, each with a host: on the bridge alone, and on `home` (placed there by joining it).
  const hosts = [await joinRoom(alone.url, 'live', 'Host', 'web'), await joinRoom(home.url, 'live', 'Host', 'web')];
  if (!hosts[1]!.client.url.startsWith(home.url.replace(/^http/, 'ws'))) throw new Error('the live room was not placed on the bridge it was opened on');
  let serial = 0;
  const run = async (which: Case, record: boolean) => {
    const join = (room: string) => ({ room, displayName: `Guest ${serial++}` });
    const before = joinPathTrips();
    let result;
    if (which === 'new room, alone') result = await timeJoin(alone, join(`new-${serial}`));
    else if (which === 'new room, directory') {
      // `other` holds no peers (the live room's host is on `home`): new rooms stay where they were asked for.
      result = await timeJoin(other, join(`new-${serial}`));
      if (!result.url.startsWith(other.url.replace(/^http/, 'ws'))) throw new Error(`a new room through the less loaded bridge ended on ${result.url}`);
    }
    else if (which === 'live room, alone') result = await timeJoin(alone, join('live'));
    else if (which === 'live room, directory, its home') result = await timeJoin(home, join('live'));
    else {
      result = await timeJoin(other, join('live'));
      if (!result.url.startsWith(home.url.replace(/^http/, 'ws'))) throw new Error(`a join through the other bridge ended on ${result.url}`);
    }
    if (!record) return;
    times[which].push(result.ms);
    trips[which] += joinPathTrips() - before;
  };
  for (let i = 0; i < 10; i++) for (const which of cases) await run(which, false); // warm-up (JIT, sockets, scripts loaded)
  for (let i = 0; i < JOINS; i++) {
    const order = i % 2 === 0 ? cases : [...cases].reverse();
    for (const which of order) await run(which, true);
  }
  for (const host of hosts) host.client.close();
} finally {
  await Promise.all([alone.stop(), home.stop(), other.stop()]);
  await redis.stop();
}

const stat = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });
console.log(`socket open -> join answered, ${JOINS} joins per case, alternated (Redis on loopback):`);
for (const which of cases) {
  const s = stat(times[which]);
  const baseline = stat(times[which.startsWith('new') ? 'new room, alone' : 'live room, alone']);
  console.log(
    `  ${which.padEnd(34)} p50 ${s.p50.toFixed(2)} ms  p95 ${s.p95.toFixed(2)} ms  x${(s.p50 / baseline.p50).toFixed(2)} (p50, vs alone)` +
      `  Redis round trips per join ${(trips[which] / JOINS).toFixed(2)}`,
  );
}
