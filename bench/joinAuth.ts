// The join token check's cost per join, side by side in one run: web peers
// join a room (a host already in it, so no room is made) on two bridges in
// this process, AUTH_MODE=open without a token and AUTH_MODE=token with a
// fresh HS256 token each (minted before the clock starts), alternated join by
// join so both see the same machine load. A join is timed from the request to
// its answer on an open socket; the socket then closes. Then the check alone:
// JoinTokens.verify per token, in-process.
//
//   npm run bench:auth -- --joins 300
import { parseArgs } from 'node:util';
import type { Bridge } from '../bridge/Bridge.ts';
import { JoinTokens } from '../bridge/auth/JoinTokens.ts';
import type { RequestData } from '../protocol/protocol.ts';
import { SignalingClient } from '../protocol/SignalingClient.ts';
import { startBridge, TEST_API } from '../test/helpers/bridge.ts';
import { joinRoom, joinToken, signalingUrl } from '../test/helpers/signaling.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '300' } } });
const JOINS = Number(values.joins);
const ROOM = 'auth-bench';

/** ms from sending the join to its answer. */
async function timeJoin(bridge: Bridge, join: RequestData<'join'>): Promise<number> {
  const client = await SignalingClient.connect(signalingUrl(bridge.url));
  try {
    const start = performance.now();
    await client.request('join', join);
    return performance.now() - start;
  } finally {
    client.close();
  }
}

const common = { MEDIA_WORKERS: '1', LOG_LEVEL: 'warn', SIGNALING_MAX_SOCKETS_PER_ADDRESS: '1000' };
const open = await startBridge({ ...common, AUTH_MODE: 'open' });
const token = await startBridge({ ...common, AUTH_MODE: 'token' });
const times = { open: [] as number[], token: [] as number[] };
try {
  const hosts = [await joinRoom(open.url, ROOM, 'Host', 'web'), await joinRoom(token.url, ROOM, 'Host', 'web', { token: await joinToken({ room: ROOM, role: 'moderator' }) })];
  const tokens = await Promise.all(Array.from({ length: JOINS + 20 }, () => joinToken({ room: ROOM })));
  const one = async (which: 'open' | 'token', i: number) =>
    which === 'open' ? timeJoin(open, { room: ROOM, displayName: `Guest ${i}` }) : timeJoin(token, { room: ROOM, displayName: `Guest ${i}`, token: tokens[i]! });
  for (let i = 0; i < 20; i++) await one(i % 2 === 0 ? 'open' : 'token', JOINS + i); // warm-up (JIT, sockets)
  for (let i = 0; i < JOINS; i++) {
    const pair = i % 2 === 0 ? (['open', 'token'] as const) : (['token', 'open'] as const);
    for (const which of pair) times[which].push(await one(which, i));
  }
  for (const host of hosts) host.client.close();
} finally {
  await Promise.all([open.stop(), token.stop()]);
}

const stat = (samples: number[]) => ({ p50: percentile(samples, 50), p95: percentile(samples, 95) });
const s = { open: stat(times.open), token: stat(times.token) };
console.log(`join round trips into a room with a host, ${JOINS} joins each, alternated:`);
console.log(`  AUTH_MODE=open, no token:      p50 ${s.open.p50.toFixed(2)} ms  p95 ${s.open.p95.toFixed(2)} ms`);
console.log(
  `  AUTH_MODE=token, HS256 token:  p50 ${s.token.p50.toFixed(2)} ms  p95 ${s.token.p95.toFixed(2)} ms` +
    `  ratio x${(s.token.p50 / s.open.p50).toFixed(3)} (p50), +${(s.token.p50 - s.open.p50).toFixed(2)} ms`,
);

// The check alone: what a join pays for its token, without the socket.
const verifier = await JoinTokens.create(TEST_API);
const samples = await Promise.all(Array.from({ length: 2000 }, () => joinToken({ room: ROOM })));
for (const t of samples.slice(0, 200)) await verifier.verify(t, ROOM); // warm-up
const start = performance.now();
for (const t of samples) await verifier.verify(t, ROOM);
const usPerVerify = ((performance.now() - start) * 1000) / samples.length;
console.log(
  `JoinTokens.verify (HS256): ${usPerVerify.toFixed(1)} us per token, ${((100 * usPerVerify) / (s.open.p50 * 1000)).toFixed(1)}% of an open join's p50`,
);
