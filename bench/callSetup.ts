// Call setup latency through the SIP gateway. sipp calls straight into rooms
// (sip:<room>@gateway, no IVR) at several rates; each call sends audio for a
// moment and hangs up, so calls overlap as in real traffic. Per call, from
// sipp's own microsecond timestamps: INVITE sent -> 200 OK received, and
// INVITE sent -> the caller in the room (the gateway answers first and joins
// the room after, so this is when the room starts hearing the caller).
//
// Side by side, alternating at each rate: the same load against the gateway's
// embedded SIP engine alone, with a drachtio-srf app that answers every
// INVITE at once with a fixed SDP (no room, no RTP port).
//
//   npm run bench:setup -- --rates 10,20,50 --seconds 6 --hold 1500 --rooms 10
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.ts';
import type { Gateway } from '../gateway/Gateway.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { startGateway } from '../test/helpers/gateway.ts';
import { freePort, freePortRange } from '../test/helpers/ports.ts';
import { runSipp } from '../test/helpers/sipp.ts';
import { bye, invite, pause, playAudio, writeScenario } from '../test/helpers/sippScenario.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { childPids, commandOf, cpuSeconds, exitedChildrenCpuSeconds, machineCpuSeconds } from './lib/procStat.ts';
import { pcmuSdp, startSrfApp, type SrfApp } from '../test/helpers/srfApp.ts';
import { percentile, wallClockMs } from './lib/stats.ts';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    rates: { type: 'string', default: '10,20,50' },
    seconds: { type: 'string', default: '6' },
    hold: { type: 'string', default: '1500' },
    /** How many rooms the calls are spread over, round robin; `per-call` gives every call a new room. */
    rooms: { type: 'string', default: '10' },
    /** Callers send sipp's G.711 recording while up (--no-audio: silent callers). */
    audio: { type: 'boolean', default: true },
  },
});
const RATES = values.rates.split(',').map(Number);
const SECONDS = Number(values.seconds);
const HOLD_MS = Number(values.hold);
const LARGEST_RUN = Math.max(...RATES) * SECONDS;
const ROOMS = values.rooms === 'per-call' ? LARGEST_RUN : Number(values.rooms);

interface Target {
  name: 'gateway' | 'bare';
  sipPort: number;
}

interface RunResult {
  calls: number;
  failed: number;
  /** INVITE -> 200 OK, ms, per answered call. */
  answer: number[];
  /** INVITE -> caller in the room, ms (gateway only). */
  inRoom: number[];
  cpu: CpuShares;
  /** How late this process's event loop ran, p99, ms: every SIP message and signaling reply waits behind it. */
  loopDelayP99: number;
}

/** CPU over a run, each as a share of one core. */
interface CpuShares {
  /** This process: gateway, bridge signaling, both SIP engines. */
  node: number;
  /** The bridge's mediasoup worker. */
  worker: number;
  sipp: number;
  /** Every process on the machine, the other engineers' included. */
  machine: number;
}

/** Starts counting CPU; the returned function gives the shares since. */
function cpuMeter(workerPid: number): () => CpuShares {
  const snapshot = () => ({
    node: cpuSeconds(process.pid),
    worker: cpuSeconds(workerPid),
    sipp: exitedChildrenCpuSeconds(process.pid), // sipp has exited and been reaped when the run ends
    machine: machineCpuSeconds().busy,
    at: performance.now(),
  });
  const before = snapshot();
  return () => {
    const after = snapshot();
    const seconds = (after.at - before.at) / 1000;
    const share = (key: keyof CpuShares) => (after[key] - before[key]) / seconds;
    return { node: share('node'), worker: share('worker'), sipp: share('sipp'), machine: share('machine') };
  };
}

/** sipp stamps each call with gettimeofday before its INVITE and on the 200, and logs them. */
function scenario(): string {
  const stamp = (name: string) => `<gettimeofday assign_to="${name}_s,${name}_us"/>`;
  const answered = '<recv response="200" rrs="true"/>';
  const call = invite();
  if (!call.includes(answered)) throw new Error('sippScenario.invite() changed: cannot stamp its 200');
  const log = '<log message="[call_number] [$sent_s] [$sent_us] [$ok_s] [$ok_us]"/>';
  const steps = [
    `  <nop><action>${stamp('sent')}</action></nop>`,
    call.replace(answered, `<recv response="200" rrs="true"><action>${stamp('ok')}${log}</action></recv>`),
    ...(values.audio ? [playAudio] : []),
    pause(HOLD_MS),
    bye(2),
  ];
  // The room comes from the injection file, one line per call.
  return writeScenario('call-setup', steps.map((step) => step.replaceAll('[service]', '[field0]')));
}

/** Calls are spread over the rooms round robin (sipp reads this file a line per call). */
function roomsFile(dir: string): string {
  const file = path.join(dir, 'rooms.csv');
  fs.writeFileSync(file, ['SEQUENTIAL', ...Array.from({ length: ROOMS }, (_, i) => `bench-${i}`)].join('\n') + '\n');
  return file;
}

/**
 * The SIP engine alone: an app that answers every INVITE at once with a fixed
 * SDP (no room, no RTP port) and lets srf answer the BYE.
 */
async function startBareUas(): Promise<SrfApp> {
  const app = await startSrfApp(logger);
  app.srf.invite((req, res) => app.srf.createUAS(req, res, { localSdp: pcmuSdp(40000) }, () => undefined));
  return app;
}

/** When each call reached its room (wall clock, by sipp call number). */
function watchJoins(gateway: Gateway): Map<number, number> {
  const joined = new Map<number, number>();
  gateway.calls.on('added', (call) => {
    const callNumber = Number.parseInt(call.id, 10); // sipp's Call-ID starts with it
    call.on('stateChanged', (state) => state === 'inRoom' && joined.set(callNumber, wallClockMs()));
  });
  return joined;
}

async function run(target: Target, rate: number, calls: number): Promise<RunResult> {
  const logFile = path.join(files.dir, `${target.name}-${rate}.log`);
  joined.clear();
  const cpu = cpuMeter(workerPid);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const result = await runSipp({
    scenario: files.scenario,
    remote: `127.0.0.1:${target.sipPort}`,
    localPort: await freePort(),
    calls,
    rate,
    timeoutSeconds: calls / rate + HOLD_MS / 1000 + 30,
    args: ['-inf', files.rooms, '-mp', String(await freePort()), '-trace_logs', '-log_file', logFile],
  });
  loopDelay.disable();
  const cpuShares = cpu();
  const answer: number[] = [];
  const inRoom: number[] = [];
  for (const line of fs.readFileSync(logFile, 'utf8').trim().split('\n')) {
    const [callNumber, sentS, sentUs, okS, okUs] = line.split(' ').map(Number) as [number, number, number, number, number];
    const sent = sentS * 1000 + sentUs / 1000;
    answer.push(okS * 1000 + okUs / 1000 - sent);
    const joinedAt = joined.get(callNumber);
    if (joinedAt !== undefined) inRoom.push(joinedAt - sent);
  }
  return { calls, failed: result.failed, answer, inRoom, cpu: cpuShares, loopDelayP99: loopDelay.percentile(99) / 1e6 };
}

const logger = createLogger('warn', 'bench');
// Each call holds a gateway port pair and a bridge plain transport, and so does each room's listener.
const bridgeBase = await freePortRange(2000);
const rtpBase = bridgeBase + 1000;
const bridge = await startBridge({ MEDIA_WORKERS: '1', MEDIA_PORT_BASE: String(bridgeBase), MEDIA_PLAIN_PORT_MIN: String(bridgeBase + 1), MEDIA_PLAIN_PORT_MAX: String(rtpBase - 1) });
const workerPid = childPids(process.pid).find((pid) => commandOf(pid).includes('mediasoup-worker'))!;
const gw = await startGateway(bridge, { RTP_PORT_MIN: String(rtpBase), RTP_PORT_MAX: String(rtpBase + 999), MAX_CALLS_PER_ROOM: '1000' });
const bare = await startBareUas();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-setup-'));
const files = { scenario: scenario(), rooms: roomsFile(dir), dir };
const joined = watchJoins(gw.gateway);
const targets: Target[] = [
  { name: 'gateway', sipPort: gw.sipPort },
  { name: 'bare', sipPort: bare.sipPort },
];
const drained = () => waitFor('calls ended and ports released', () => gw.gateway.calls.size === 0 && gw.gateway.ports.inUse === 0, 30_000);

const cell = (value: string | number, width = 6) => String(value).padStart(width);
const latencies = (xs: number[]) => (xs.length ? [percentile(xs, 50), percentile(xs, 95), Math.max(...xs)].map((x) => cell(x.toFixed(1))) : ['-', '-', '-'].map((x) => cell(x))).join(' ');
const percent = (share: number) => cell(`${(share * 100).toFixed(0)}%`, 4);
function row(rate: number, target: Target, r: RunResult): string {
  const { node, worker, sipp, machine } = r.cpu;
  const joins = target.name === 'gateway' ? r.inRoom.length : '-';
  return `${cell(rate, 3)} | ${target.name.padEnd(7)} | ${cell(r.calls, 5)} ${cell(r.failed, 4)} | ${latencies(r.answer)} | ${cell(joins, 5)} ${latencies(r.inRoom)} | ${percent(node)} ${percent(worker)} ${percent(sipp)} ${percent(machine)} | ${cell(r.loopDelayP99.toFixed(1))}`;
}

try {
  for (const target of targets) await run(target, 10, 20); // warm-up: JIT, first rooms
  await drained();
  console.log(`${values.rooms === 'per-call' ? 'a new room per call' : `${ROOMS} rooms`}, calls held ${HOLD_MS} ms${values.audio ? ' with audio' : ''}, ${SECONDS} s per rate`);
  console.log('latencies in ms; CPU as a share of one core (2 cores = 200%): Node (gateway, bridge signaling, SIP engines), mediasoup worker, sipp, whole machine; event-loop delay p99 of the Node process in ms\n');
  console.log(`    |         |            | ${'INVITE -> 200 OK'.padEnd(20)} | ${'INVITE -> in room'.padEnd(26)} | ${'CPU'.padEnd(19)} | loop`);
  console.log(`CPS | system  | calls fail | ${['p50', 'p95', 'max'].map((h) => cell(h)).join(' ')} | ${cell('n', 5)} ${['p50', 'p95', 'max'].map((h) => cell(h)).join(' ')} | ${['Node', 'wkr', 'sipp', 'all'].map((h) => cell(h, 4)).join(' ')} |  p99`);
  for (const [round, rate] of RATES.entries()) {
    const results = new Map<Target['name'], RunResult>();
    // Flip the order each rate so neither system always runs on a machine warmed by the other.
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const r = await run(target, rate, rate * SECONDS);
      await drained();
      results.set(target.name, r);
      console.log(row(rate, target, r));
    }
    const [g, b] = [results.get('gateway')!.answer, results.get('bare')!.answer];
    console.log(`    gateway / bare, INVITE->200: p50 x${(percentile(g, 50) / percentile(b, 50)).toFixed(2)}, p95 x${(percentile(g, 95) / percentile(b, 95)).toFixed(2)}`);
  }
} finally {
  await bare.close();
  await gw.gateway.stop();
  await bridge.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(path.dirname(files.scenario), { recursive: true, force: true });
}
