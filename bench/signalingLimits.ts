// The signaling rate limiter's cost per message, side by side in one run:
// `ping` round trips over N sockets against two bridges in this process, one
// whose message budget never refuses (the limiter effectively off) and one
// with the default budget, alternated round by round so both see the same
// machine load. Each socket stays within the default burst, so both bridges
// answer every message; what differs is only the limiter's bookkeeping.
// Then the bucket alone: ns per take(), as a share of a message's cost.
//
//   npm run bench:limits -- --sockets 8 --messages 400 --rounds 30
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { Bridge } from '../bridge/Bridge.ts';
import { loadBridgeConfig } from '../bridge/config.ts';
import { TokenBucket } from '../bridge/limits/TokenBucket.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { signalingUrl } from '../test/helpers/signaling.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '8' },
    messages: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '30' },
  },
});
const SOCKETS = Number(values.sockets);
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);

const defaults = loadBridgeConfig({}).limits;
if (MESSAGES >= defaults.messageBurst) {
  throw new Error(`--messages must stay below the default burst (${defaults.messageBurst}) so no message is refused`);
}

/** One socket's `count` sequential ping round trips; throws on any refusal. */
async function pings(url: string, count: number): Promise<void> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await new Promise<void>((resolve, reject) => {
    let id = 0;
    ws.on('message', (raw) => {
      const reply = JSON.parse(String(raw)) as { ok: boolean; error?: { code: string } };
      if (!reply.ok) return reject(new Error(`refused: ${reply.error?.code}`));
      if (++id === count) return resolve();
      ws.send(JSON.stringify({ id, method: 'ping' }));
    });
    ws.send(JSON.stringify({ id, method: 'ping' }));
  });
  ws.close();
}

/** Round trips per second over SOCKETS fresh sockets (fresh: each starts with a full bucket). */
async function round(bridge: Bridge): Promise<number> {
  const url = signalingUrl(bridge.url);
  const start = performance.now();
  await Promise.all(Array.from({ length: SOCKETS }, () => pings(url, MESSAGES)));
  return (SOCKETS * MESSAGES) / ((performance.now() - start) / 1000);
}

const common = { MEDIA_WORKERS: '1', LOG_LEVEL: 'warn', SIGNALING_JOIN_DEADLINE_MS: '60000' };
const unlimited = await startBridge({ ...common, SIGNALING_MESSAGES_PER_SECOND: '10000', SIGNALING_MESSAGE_BURST: '10000' });
const limited = await startBridge(common);
const rates = { unlimited: [] as number[], limited: [] as number[] };
try {
  await round(unlimited); // warm-up (JIT, connections)
  await round(limited);
  for (let i = 0; i < ROUNDS; i++) {
    const pair = i % 2 === 0 ? (['unlimited', 'limited'] as const) : (['limited', 'unlimited'] as const);
    for (const which of pair) rates[which].push(await round(which === 'unlimited' ? unlimited : limited));
  }
} finally {
  await Promise.all([unlimited.stop(), limited.stop()]);
}

const p50 = { unlimited: percentile(rates.unlimited, 50), limited: percentile(rates.limited, 50) };
console.log(`ping round trips, ${SOCKETS} sockets x ${MESSAGES} messages, ${ROUNDS} rounds each (median round):`);
console.log(`  budget never refuses (10000/s, burst 10000): ${p50.unlimited.toFixed(0)} msg/s`);
console.log(
  `  default budget (${defaults.messagesPerSecond}/s, burst ${defaults.messageBurst}): ${p50.limited.toFixed(0)} msg/s` +
    `  ratio x${(p50.limited / p50.unlimited).toFixed(3)}`,
);
console.log(`  spread: never refuses ${Math.min(...rates.unlimited).toFixed(0)}-${Math.max(...rates.unlimited).toFixed(0)}, default ${Math.min(...rates.limited).toFixed(0)}-${Math.max(...rates.limited).toFixed(0)} msg/s`);

// The bucket alone, with the clock read each call as on the message path.
const bucket = new TokenBucket(1e12, 1e12);
const TAKES = 5_000_000;
let taken = 0;
const start = performance.now();
for (let i = 0; i < TAKES; i++) if (bucket.take()) taken++;
const nsPerTake = ((performance.now() - start) * 1e6) / TAKES;
if (taken !== TAKES) throw new Error('the bench bucket refused');
const nsPerMessage = 1e9 / p50.unlimited;
console.log(
  `TokenBucket.take(): ${nsPerTake.toFixed(1)} ns; a ping round trip costs ${(nsPerMessage / 1000).toFixed(1)} us of wall time at the rate above:` +
    ` the bucket is ${((100 * nsPerTake) / nsPerMessage).toFixed(3)}% of it`,
);
