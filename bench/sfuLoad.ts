// SFU load: S senders (Opus-sized audio with audio levels + real VP8) routed
// to R receivers in one room on one media worker, every receiver consuming
// every sender: 2·S·R consumers over plain RTP transports on loopback.
//
// Runs the bridge (signaling, room layer, speaker detection) and bare
// mediasoup (the same routing, nothing else) alternately in one run and
// reports CPU, loss and throughput, and the bridge's cost as a ratio.
//
//   npm run bench:sfu -- --senders 4 --receivers 63 --seconds 10 --rounds 2
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { SIGNALING_PATH } from '../protocol/protocol.ts';
import { SignalingClient } from '../protocol/SignalingClient.ts';
import { TEST_SERVICE_SECRET } from '../test/helpers/bridge.ts';
import { freePort, freePortRange } from '../test/helpers/ports.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { childPids, cpuSeconds } from './lib/procStat.ts';
import { RtpSink } from './lib/sink.ts';
import { AUDIO_RTP_PARAMETERS, captureVp8, Transmitter, VIDEO_RTP_PARAMETERS } from './lib/syntheticMedia.ts';

const { values } = parseArgs({
  options: {
    senders: { type: 'string', default: '4' },
    receivers: { type: 'string', default: '63' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '2' },
    'video-kbps': { type: 'string', default: '250' },
  },
});
const S = Number(values.senders);
const R = Number(values.receivers);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const WARMUP_MS = 4000;

interface System {
  name: 'bare' | 'bridge';
  targets: { ip: string; port: number }[];
  nodePid: number;
  workerPid: number;
  stop(): Promise<void>;
}

const ssrcs = Array.from({ length: S }, (_, i) => ({ audioSsrc: 1000 + i, videoSsrc: 2000 + i }));

async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

async function startBare(receiverPorts: number[]): Promise<System> {
  const child = spawn(process.execPath, ['bench/bareSfu.ts'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  child.send({ senders: ssrcs, receiverPorts });
  const { workerPid, targets } = await new Promise<{ workerPid: number; targets: System['targets'] }>((resolve) =>
    child.once('message', (m) => resolve(m as never)),
  );
  return {
    name: 'bare',
    targets,
    nodePid: child.pid!,
    workerPid,
    stop: async () => {
      child.kill();
      await exited(child);
    },
  };
}

async function startBridge(receiverPorts: number[]): Promise<System> {
  const httpPort = await freePort();
  const base = await freePortRange(S + R + 2);
  const child = spawn(process.execPath, ['bridge/main.ts'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: String(httpPort),
      MEDIA_WORKERS: '1',
      MEDIA_LISTEN_IP: '127.0.0.1',
      MEDIA_PORT_BASE: String(base),
      MEDIA_PLAIN_PORT_MIN: String(base + 1),
      MEDIA_PLAIN_PORT_MAX: String(base + S + R + 1),
      LOG_LEVEL: 'warn',
      SERVICE_SECRET: TEST_SERVICE_SECRET,
    },
  });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitFor('the bridge', async () => (await fetch(`${url}/healthz`)).ok, 20_000, 100);
  const join = async (name: string) => {
    const client = await SignalingClient.connect(`ws://127.0.0.1:${httpPort}${SIGNALING_PATH}`);
    const joined = await client.request('join', { room: 'load', displayName: name, kind: 'service', secret: TEST_SERVICE_SECRET });
    return { client, caps: joined.routerRtpCapabilities };
  };
  const clients: SignalingClient[] = [];
  const producerIds: string[] = [];
  const targets: System['targets'] = [];
  for (const [i, ssrc] of ssrcs.entries()) {
    const { client } = await join(`sender ${i}`);
    clients.push(client);
    const t = await client.request('createPlainTransport', { comedia: true });
    for (const [kind, source, rtpParameters] of [
      ['audio', 'mic', AUDIO_RTP_PARAMETERS(ssrc.audioSsrc)],
      ['video', 'camera', VIDEO_RTP_PARAMETERS(ssrc.videoSsrc)],
    ] as const) {
      producerIds.push((await client.request('produce', { transportId: t.id, kind, source, rtpParameters })).producerId);
    }
    targets.push({ ip: t.ip, port: t.port });
  }
  for (const [i, port] of receiverPorts.entries()) {
    const { client, caps } = await join(`receiver ${i}`);
    clients.push(client);
    const t = await client.request('createPlainTransport', { comedia: false });
    await client.request('connectPlainTransport', { transportId: t.id, ip: '127.0.0.1', port });
    for (const producerId of producerIds) {
      await client.request('consume', { transportId: t.id, producerId, rtpCapabilities: caps });
    }
  }
  const [workerPid] = childPids(child.pid!);
  return {
    name: 'bridge',
    targets,
    nodePid: child.pid!,
    workerPid: workerPid!,
    stop: async () => {
      for (const c of clients) c.close();
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

interface Result {
  system: string;
  consumers: number;
  workerCpu: number;
  nodeCpu: number;
  loss: number;
  mbps: number;
  kpps: number;
}

async function runOnce(start: (ports: number[]) => Promise<System>, video: Awaited<ReturnType<typeof captureVp8>>): Promise<Result> {
  const sinks = await Promise.all(Array.from({ length: R }, async () => {
    const sink = new RtpSink();
    return { sink, port: await sink.bind() };
  }));
  const system = await start(sinks.map((s) => s.port));
  const transmitter = new Transmitter(video);
  await transmitter.bind();
  for (const [i, target] of system.targets.entries()) {
    transmitter.add({ ssrc: ssrcs[i]!.audioSsrc, target }, { ssrc: ssrcs[i]!.videoSsrc, target });
  }
  transmitter.start();
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));

  for (const { sink } of sinks) sink.begin();
  const cpu0 = { worker: cpuSeconds(system.workerPid), node: cpuSeconds(system.nodePid) };
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu1 = { worker: cpuSeconds(system.workerPid), node: cpuSeconds(system.nodePid) };
  const totals = sinks.map(({ sink }) => sink.end()).reduce(
    (a, b) => ({ streams: a.streams + b.streams, packets: a.packets + b.packets, expected: a.expected + b.expected, bytes: a.bytes + b.bytes }),
    { streams: 0, packets: 0, expected: 0, bytes: 0 },
  );
  transmitter.close();
  for (const { sink } of sinks) sink.close();
  await system.stop();
  return {
    system: system.name,
    consumers: totals.streams,
    workerCpu: ((cpu1.worker - cpu0.worker) / elapsed) * 100,
    nodeCpu: ((cpu1.node - cpu0.node) / elapsed) * 100,
    loss: totals.expected ? (1 - totals.packets / totals.expected) * 100 : 100,
    mbps: (totals.bytes * 8) / elapsed / 1e6,
    kpps: totals.packets / elapsed / 1000,
  };
}

const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(7);

console.log(`SFU load: ${S} senders x ${R} receivers = ${2 * S * R} consumers on 1 worker, ${SECONDS} s windows, ${ROUNDS} rounds`);
const video = await captureVp8(4, Number(values['video-kbps']));
console.log(`replaying ${video.packets.length} VP8 packets (4 s, ${values['video-kbps']} kbps) per sender, audio 50 pkt/s with audio levels\n`);
console.log('round  system   consumers  worker%CPU  node%CPU   loss%    Mbit/s  kpkt/s');
const results: Result[][] = [];
for (let round = 1; round <= ROUNDS; round++) {
  const pair: Result[] = [];
  for (const start of round % 2 ? [startBare, startBridge] : [startBridge, startBare]) {
    const r = await runOnce(start, video);
    pair.push(r);
    console.log(`${String(round).padStart(5)}  ${r.system.padEnd(7)} ${String(r.consumers).padStart(9)} ${fmt(r.workerCpu)}    ${fmt(r.nodeCpu)}  ${fmt(r.loss, 2)}  ${fmt(r.mbps)} ${fmt(r.kpps)}`);
  }
  results.push(pair);
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const of = (name: string) => results.map((pair) => pair.find((r) => r.system === name)!);
const workerRatio = median(results.map((_, i) => of('bridge')[i]!.workerCpu / of('bare')[i]!.workerCpu));
const totalRatio = median(results.map((_, i) => (of('bridge')[i]!.workerCpu + of('bridge')[i]!.nodeCpu) / (of('bare')[i]!.workerCpu + of('bare')[i]!.nodeCpu)));
const bridge = of('bridge');
console.log(`\nbridge / bare, median of ${ROUNDS} rounds:`);
console.log(`  media worker CPU      x${workerRatio.toFixed(3)}  (overhead ${((workerRatio - 1) * 100).toFixed(1)}%)`);
console.log(`  worker + Node CPU     x${totalRatio.toFixed(3)}  (overhead ${((totalRatio - 1) * 100).toFixed(1)}%)`);
console.log(`bridge: ${median(bridge.map((r) => r.consumers))} consumers at ${median(bridge.map((r) => r.workerCpu)).toFixed(1)}% of one core (worker), loss ${median(bridge.map((r) => r.loss)).toFixed(2)}%`);
process.exit(0);
