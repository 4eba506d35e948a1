// A room bigger than one media worker: the biggest one-sender room on one
// worker against the same room spread over two (issue 17), side by side in
// one run. One sender (Opus-sized audio with audio levels + real VP8) and V
// plain-RTP viewers, each consuming both: 2·V consumers. V climbs the ladder
// until an arm loses more than 1% of packets.
//
// Arms, one after the other, each growing one room rung by rung on its own
// bridges: MEDIA_WORKERS=1; MEDIA_WORKERS=2 with MEDIA_WORKER_SPREAD_CONSUMERS=1,
// so the viewers alternate between the home router's worker and a router the
// room adds on the other (the sender's producers piped there); two bridges of
// one worker each sharing a redis-server, in regions a and b, the viewers
// alternating between joining through A (the room's home) and through B with
// region b (served by B as A's satellite, the producers piped over a cascade
// link). The bridges run in this process; the sender and the viewers' sockets
// too. The sender is a `phone` peer: a service's producers are not piped to
// other bridges.
//
//   npm run bench:workers -- --ladder 100,200,400,800 --seconds 8
import { parseArgs } from 'node:util';
import type { Bridge } from '../bridge/Bridge.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { freePortRange } from '../test/helpers/ports.ts';
import { TestRedis } from '../test/helpers/redis.ts';
import { joinRoom, type Joined } from '../test/helpers/signaling.ts';
import { cpuSeconds } from './lib/procStat.ts';
import { RtpSink } from './lib/sink.ts';
import { AUDIO_RTP_PARAMETERS, captureVp8, Transmitter, VIDEO_RTP_PARAMETERS } from './lib/syntheticMedia.ts';

const { values } = parseArgs({
  options: {
    ladder: { type: 'string', default: '100,200,300,400,500,600,800,1000,1200' },
    seconds: { type: 'string', default: '8' },
    'video-kbps': { type: 'string', default: '250' },
    /** Which arms to run, by name (the first one run is the baseline of the others). */
    arms: { type: 'string', default: '1 worker,2 workers,2 bridges' },
  },
});
const LADDER = values.ladder.split(',').map(Number);
const SECONDS = Number(values.seconds);
const WARMUP_MS = 3000;
const MAX_LOSS = 1; // percent
const AUDIO_SSRC = 1111;
const VIDEO_SSRC = 2222;
// The viewers' plain transports (and the sender's, and a cascade link's pipe), reserved once: each arm's bridges have closed before the next starts.
const PLAIN_PER_BRIDGE = Math.max(...LADDER) + 2;
const plain = await freePortRange(2 * PLAIN_PER_BRIDGE);

interface Arm {
  name: string;
  workers: number;
  /** 2: two bridges linked by the directory's Redis, the room spanning them. */
  bridges: 1 | 2;
  /** Every rung measured, and whether one went over MAX_LOSS (the arm then stops). */
  results: Result[];
  over?: boolean;
}

interface Result {
  viewers: number;
  consumers: number;
  /** Viewers' consumers per worker (of each bridge in turn), as the bridges placed them. */
  split: number[];
  workerCpu: number;
  benchCpu: number;
  loss: number;
}

const secondsOf = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

/** One window at the room's current size: CPU of the workers and of this process, loss at the viewers' sockets. */
async function measure(bridges: readonly Bridge[], sinks: readonly RtpSink[]): Promise<Result> {
  const split = bridges.flatMap((bridge) => {
    const room = bridge.registry.get('big')!;
    return bridge.pool.workers.map((w) => room.routers.all.filter((r) => r.mediaWorker === w).reduce((n, r) => n + r.consumers, 0));
  });
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const pids = bridges.flatMap((bridge) => bridge.pool.workers.map((w) => w.pid));
  const workerSeconds = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  for (const sink of sinks) sink.begin();
  const cpu0 = { workers: workerSeconds(), bench: process.cpuUsage() };
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const workerCpu = ((workerSeconds() - cpu0.workers) / elapsed) * 100;
  const benchCpu = (secondsOf(process.cpuUsage(cpu0.bench)) / elapsed) * 100;
  const totals = sinks.map((sink) => sink.end()).reduce(
    (a, b) => ({ streams: a.streams + b.streams, packets: a.packets + b.packets, expected: a.expected + b.expected }),
    { streams: 0, packets: 0, expected: 0 },
  );
  return {
    viewers: sinks.length,
    consumers: totals.streams,
    split,
    workerCpu,
    benchCpu,
    loss: totals.expected ? (1 - totals.packets / totals.expected) * 100 : 100,
  };
}

/** Grows one room up the ladder on the arm's bridges and workers, measuring at each rung, until loss passes MAX_LOSS. */
async function runArm(arm: Arm, video: Awaited<ReturnType<typeof captureVp8>>): Promise<void> {
  const redis = arm.bridges === 2 ? await TestRedis.start() : undefined;
  const bridges: Bridge[] = [];
  for (const [index, region] of ['a', 'b'].slice(0, arm.bridges).entries()) {
    bridges.push(
      await startBridge({
        MEDIA_WORKERS: String(arm.workers),
        // From the second viewer on, each goes to the lighter worker: the room is split evenly at every rung.
        MEDIA_WORKER_SPREAD_CONSUMERS: '1',
        MEDIA_PLAIN_PORT_MIN: String(plain + index * PLAIN_PER_BRIDGE),
        MEDIA_PLAIN_PORT_MAX: String(plain + (index + 1) * PLAIN_PER_BRIDGE - 1),
        ROOM_MAX_PEERS: '1000',
        ...(redis && { REDIS_URL: redis.url, BRIDGE_ID: region, BRIDGE_REGION: region }),
      }),
    );
  }
  const home = bridges[0]!;
  const clients: Joined[] = [];
  const sinks: RtpSink[] = [];
  const transmitter = new Transmitter(video);
  try {
    const sender = await joinRoom(home.url, 'big', 'sender', 'phone');
    clients.push(sender);
    const t = await sender.client.request('createPlainTransport', { comedia: true });
    const producerIds: string[] = [];
    for (const [kind, source, rtpParameters] of [
      ['audio', 'mic', AUDIO_RTP_PARAMETERS(AUDIO_SSRC)],
      ['video', 'camera', VIDEO_RTP_PARAMETERS(VIDEO_SSRC)],
    ] as const) {
      producerIds.push((await sender.client.request('produce', { transportId: t.id, kind, source, rtpParameters })).producerId);
    }
    await transmitter.bind();
    transmitter.add({ ssrc: AUDIO_SSRC, target: { ip: t.ip, port: t.port } }, { ssrc: VIDEO_SSRC, target: { ip: t.ip, port: t.port } });
    transmitter.start();

    for (const viewers of LADDER) {
      try {
        // One after another: a receiver is placed by the consumers already there.
        while (sinks.length < viewers) {
          // Alternating bridges: each viewer through its bridge, saying it is in that bridge's region.
          const through = sinks.length % bridges.length;
          const viewer = await joinRoom(bridges[through]!.url, 'big', `viewer ${sinks.length}`, 'service', redis ? { region: through ? 'b' : 'a' } : {});
          if (!viewer.client.url.startsWith(bridges[through]!.url.replace(/^http/, 'ws'))) throw new Error(`viewer ${sinks.length} was not served by the bridge it joined through`);
          clients.push(viewer);
          const sink = new RtpSink();
          sinks.push(sink);
          const port = await sink.bind();
          const r = await viewer.client.request('createPlainTransport', { comedia: false });
          await viewer.client.request('connectPlainTransport', { transportId: r.id, ip: '127.0.0.1', port });
          for (const producerId of producerIds) {
            await viewer.client.request('consume', { transportId: r.id, producerId, rtpCapabilities: viewer.joined.routerRtpCapabilities });
          }
        }
      } catch (error) {
        // A machine this busy cannot even add viewers (signaling times out): the rung counts as over.
        console.log(`${String(viewers).padStart(7)}  ${arm.name.padEnd(9)}  viewer ${sinks.length} could not be added: ${(error as Error).message}`);
        arm.over = true;
        break;
      }
      const r = await measure(bridges, sinks);
      arm.results.push(r);
      console.log(
        `${String(viewers).padStart(7)}  ${arm.name.padEnd(9)}  ${String(r.consumers).padStart(9)}  ${r.split.join('/').padStart(10)}   ${f1(r.workerCpu).padStart(12)}  ${perConsumer(r).toFixed(3).padStart(13)}  ${f1(r.benchCpu).padStart(10)}  ${r.loss.toFixed(2).padStart(6)}`,
      );
      if (r.loss > MAX_LOSS) {
        arm.over = true;
        break;
      }
    }
  } finally {
    transmitter.close();
    for (const c of clients) c.client.close();
    for (const sink of sinks) sink.close();
    for (const bridge of bridges) await bridge.stop();
    await redis?.stop();
  }
}

const f1 = (n: number) => n.toFixed(1);
const perConsumer = (r: Result) => r.workerCpu / r.consumers;

const ARMS: Arm[] = [
  { name: '1 worker', workers: 1, bridges: 1, results: [] },
  { name: '2 workers', workers: 2, bridges: 1, results: [] },
  { name: '2 bridges', workers: 1, bridges: 2, results: [] },
];
const arms = ARMS.filter((arm) => values.arms.split(',').includes(arm.name));
console.log(`Room over workers: 1 sender (audio + ${values['video-kbps']} kbps VP8), V plain-RTP viewers x 2 consumers; ${SECONDS} s windows; ladder ${LADDER.join(', ')}`);
const video = await captureVp8(4, Number(values['video-kbps']));
console.log('viewers  arm        consumers  per worker   workers %CPU  %CPU/consumer  bench %CPU   loss%');
for (const arm of arms) await runArm(arm, video);

console.log(`\nbiggest room at <= ${MAX_LOSS}% loss:`);
const passed = (arm: Arm) => arm.results.filter((r) => r.loss <= MAX_LOSS);
for (const arm of arms) {
  const b = passed(arm).at(-1);
  console.log(
    b
      ? `  ${arm.name.padEnd(9)} ${b.viewers} viewers (${b.consumers} consumers${arm.over ? '' : ', the ladder ran out first'}), ${perConsumer(b).toFixed(3)}% of a core per consumer`
      : `  ${arm.name.padEnd(9)} none: the first rung lost more than ${MAX_LOSS}%`,
  );
}
// Each spread arm against the one-worker room: the biggest room, and CPU per consumer where both carried the same room.
const [baseline, ...spreads] = arms;
for (const arm of spreads) {
  const [one, other] = [baseline!, arm].map((a) => passed(a).at(-1));
  if (one && other) console.log(`  ${arm.name} / ${baseline!.name}: viewers x${(other.viewers / one.viewers).toFixed(2)}`);
  const common = passed(baseline!).filter((r) => passed(arm).some((q) => q.viewers === r.viewers)).at(-1);
  if (!common) continue;
  const spread = passed(arm).find((q) => q.viewers === common.viewers)!;
  console.log(
    `  at ${common.viewers} viewers, CPU per consumer: ${perConsumer(common).toFixed(3)}% (${baseline!.name}) vs ${perConsumer(spread).toFixed(3)}% (${arm.name}), x${(perConsumer(spread) / perConsumer(common)).toFixed(2)}`,
  );
}
process.exit(0);
