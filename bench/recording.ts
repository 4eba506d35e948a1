// What a recording costs on this machine, per process, against the floor cost
// of encoding alone.
//
// A real Redis, an in-process bridge, and a recorder worker as its own process
// (`node recorder/main.ts`, RECORDER_CONCURRENCY=3, so its Node CPU can be
// told apart from the bridge's). Jobs go through the real queue
// (RecordingQueue) and are stopped with its stop(). The room has 2 synthetic
// participants: `phone` peers sending, over plain RTP, VP8 640x360 30 fps
// (ffmpeg-encoded test pattern, replayed) and real Opus with audio levels, so
// the recorder's Chromium decodes 2 videos and 2 audio streams as it would
// with browsers, while the machine's 2 cores stay for the recorders.
//
// 1. Composite 1280x720@30 recordings of the room, 1 then 2 then 3 at once
//    (each added to the ones running). Each job's processes are found by the
//    job's scratch dir (/tmp/recorder-<worker pid>-<job id>-*) in their command lines and
//    by ancestry (Chromium's renderer, GPU and utility processes), its Xvfb
//    by the X socket of the display its ffmpeg grabs. CPU from
//    /proc/<pid>/stat utime+stime over a steady window after a warm-up.
//    Frames and drops from the job's progress (ffmpeg's frame= and drop=),
//    differenced over the same window.
// 2. Baseline, first: the recorder's own ScreenCapture (same ffmpeg
//    arguments, x264 and AAC settings) grabbing a static Xvfb screen and a
//    silent PulseAudio null sink: no Chromium, no meeting.
// 3. Headless tab capture of the same recorder page (getDisplayMedia
//    preferCurrentTab + MediaRecorder H.264/Opus in Matroska, piped into
//    ffmpeg -c:v copy -c:a aac), for the capture-method comparison.
// 4. An audio-only job (m4a) of a room of 2 plain-RTP phones (PCMU).
//
//   npm run bench:record -- --warmup 5 --seconds 20 [--no-tab]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Job, Queue } from 'bullmq';
import puppeteer, { type Browser } from 'puppeteer-core';
import { createLogger } from '../common/logger.ts';
import type { SignalingClient } from '../protocol/SignalingClient.ts';
import { RecordingQueue } from '../queue/RecordingQueue.ts';
import { RECORDING_QUEUE, recordingProgressSchema, recordingResultSchema, type RecordingProgress, type RecordingResult } from '../queue/recordingJob.ts';
import { PulseSink } from '../recorder/capture/PulseSink.ts';
import { ScreenCapture } from '../recorder/capture/ScreenCapture.ts';
import { VirtualDisplay } from '../recorder/capture/VirtualDisplay.ts';
import { loadRecorderConfig } from '../recorder/config.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../test/helpers/bridge.ts';
import { CHROMIUM } from '../test/helpers/browser.ts';
import { audioVolume, motionShare } from '../test/helpers/media.ts';
import { spawnRecorder } from '../test/helpers/recorder.ts';
import { TestRedis } from '../test/helpers/redis.ts';
import { RtpSender } from '../test/helpers/rtp.ts';
import { joinRoom } from '../test/helpers/signaling.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { allPids, childPids, commandOf, cpuSeconds, descendantPids, machineCpuSeconds, parentPid } from './lib/procStat.ts';
import { AUDIO_RTP_PARAMETERS, captureOpus, captureVp8, Transmitter, VIDEO_RTP_PARAMETERS } from './lib/syntheticMedia.ts';
import { CHROMIUM_BASE_ARGS } from '../recorder/capture/RecorderBrowser.ts';

const { values } = parseArgs({
  options: {
    warmup: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '20' },
    jobs: { type: 'string', default: '3' },
    'no-tab': { type: 'boolean', default: false },
  },
});
const WARMUP_MS = Number(values.warmup) * 1000;
const WINDOW_MS = Number(values.seconds) * 1000;
const MAX_JOBS = Number(values.jobs);
const ROOM = 'bench-recording';
const AUDIO_ROOM = 'bench-audio-recording';
const VIDEO = { width: 1280, height: 720, fps: 30 };
const SENDERS = 2;

const logger = createLogger('warn', 'bench');
const recorderDefaults = loadRecorderConfig({});
const ENCODER = recorderDefaults.encoder;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const cores = os.availableParallelism();

// ---------------------------------------------------------------------------
// Processes and their CPU

const CATEGORIES = ['chromium', 'ffmpeg', 'Xvfb', 'pulseaudio', 'node', 'other'] as const;
type Category = (typeof CATEGORIES)[number];

function categoryOf(pid: number, cmd: string): Category {
  let exe = path.basename(cmd.split(' ')[0] ?? '');
  if (!exe) exe = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  if (/^chrom/i.test(exe)) return 'chromium'; // chromium, its --type= children, chrome_crashpad_handler
  if (exe === 'ffmpeg') return 'ffmpeg';
  if (exe === 'Xvfb') return 'Xvfb';
  if (exe === 'pulseaudio') return 'pulseaudio';
  if (exe === 'node') return 'node';
  return 'other';
}

/** Whose a process is: a recording job, the baseline, the tab capture, the worker... */
interface Owner {
  name: string;
  /** A process whose command line contains one of these is the owner's (and so are its descendants). */
  markers: string[];
  /** Processes known by pid (Xvfb is found through its display). */
  pids: Set<number>;
}

interface ProcSample {
  cpu: number;
  owner: string;
  category: Category;
  cmd: string;
}

/**
 * The Xvfb serving `:n`: the one holding the listening socket
 * /tmp/.X11-unix/X<n> (Xvfb -displayfd writes no lock file).
 */
function xvfbOfDisplay(display: string): number | undefined {
  const socket = `/tmp/.X11-unix/X${display.replace(':', '')}`;
  const inodes = new Set(
    fs
      .readFileSync('/proc/net/unix', 'utf8')
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[7] === socket || fields[7] === `@${socket}`)
      .map((fields) => `socket:[${fields[6]}]`),
  );
  for (const pid of allPids()) {
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'Xvfb') continue;
      if (fs.readdirSync(`/proc/${pid}/fd`).some((fd) => inodes.has(fs.readlinkSync(`/proc/${pid}/fd/${fd}`)))) return pid;
    } catch {
      // gone, or an fd closed meanwhile
    }
  }
  return undefined;
}
const xvfbByDisplay = new Map<string, number>();

/**
 * CPU seconds so far of every process of interest: the bench process's
 * descendants (the worker and everything it started, the baseline, the tab
 * capture, the media worker) and anything anywhere whose command line names
 * an owner (a reparented crash handler).
 */
function snapshot(owners: Owner[]): Map<number, ProcSample> {
  const candidates = new Set(descendantPids(process.pid));
  const markers = owners.flatMap((o) => o.markers);
  const commands = new Map<number, string>();
  for (const pid of allPids()) {
    if (candidates.has(pid)) continue;
    try {
      const cmd = commandOf(pid);
      if (markers.some((m) => cmd.includes(m))) {
        candidates.add(pid);
        commands.set(pid, cmd);
      }
    } catch {
      // gone
    }
  }
  const direct = new Map<number, { owner: string; cmd: string }>();
  for (const pid of candidates) {
    try {
      const cmd = commands.get(pid) ?? commandOf(pid);
      const owner = owners.find((o) => o.pids.has(pid) || o.markers.some((m) => cmd.includes(m)));
      direct.set(pid, { owner: owner?.name ?? '', cmd });
      // A job's Xvfb: the display its ffmpeg grabs.
      const display = owner && / -i (:\d+)\.0\+0,0/.exec(cmd)?.[1];
      if (owner && display && !xvfbByDisplay.has(`${owner.name}${display}`)) {
        const xvfb = xvfbOfDisplay(display);
        if (xvfb) {
          owner.pids.add(xvfb);
          xvfbByDisplay.set(`${owner.name}${display}`, xvfb);
        }
      }
    } catch {
      // gone
    }
  }
  const ownerOf = (pid: number, depth = 0): string => {
    const own = direct.get(pid)?.owner || owners.find((o) => o.pids.has(pid))?.name;
    if (own) return own;
    if (depth > 12 || pid <= 1) return '';
    try {
      return ownerOf(parentPid(pid), depth + 1);
    } catch {
      return '';
    }
  };
  const samples = new Map<number, ProcSample>();
  for (const [pid, { cmd }] of direct) {
    if (pid === process.pid) continue; // the bench process itself is counted apart
    try {
      samples.set(pid, { cpu: cpuSeconds(pid), owner: ownerOf(pid) || 'unattributed', category: categoryOf(pid, cmd), cmd });
    } catch {
      // gone
    }
  }
  return samples;
}

/** Per owner and category: % of one core over the window, and how many processes. */
type Usage = Map<string, Map<Category, { pct: number; procs: number }>>;

function usageBetween(before: Map<number, ProcSample>, after: Map<number, ProcSample>, seconds: number): Usage {
  const usage: Usage = new Map();
  for (const [pid, b] of after) {
    // A process born during the window counts from zero.
    const delta = b.cpu - (before.get(pid)?.cpu ?? 0);
    const byCategory = usage.get(b.owner) ?? new Map();
    usage.set(b.owner, byCategory);
    const entry = byCategory.get(b.category) ?? { pct: 0, procs: 0 };
    entry.pct += (delta / seconds) * 100;
    entry.procs += 1;
    byCategory.set(b.category, entry);
  }
  return usage;
}

const pctOf = (usage: Usage, owner: string, category?: Category) => {
  const byCategory = usage.get(owner);
  if (!byCategory) return 0;
  if (category) return byCategory.get(category)?.pct ?? 0;
  return [...byCategory.values()].reduce((sum, e) => sum + e.pct, 0);
};
const procsOf = (usage: Usage, owner: string, category: Category) => usage.get(owner)?.get(category)?.procs ?? 0;

interface Measured {
  seconds: number;
  usage: Usage;
  /** The bench process (bridge, senders, queue clients), % of one core. */
  bench: number;
  /** The whole machine, % of one core (up to cores x 100). */
  machine: number;
  /** What none of our processes used: someone else's work on the machine. */
  others: number;
  /** Each process's share, for finding what was not attributed. */
  perPid: (ProcSample & { pid: number; pct: number })[];
}

/** A window in which others used more than this (% of a core) is measured again, at most `retriesLeft` times in the run. */
const NOISY = 25;
let retriesLeft = 2;

/** Runs a measurement; if someone else loaded the machine meanwhile, runs it once more and keeps the quieter. */
async function quietly<T extends { win: Measured }>(run: () => Promise<T>): Promise<T> {
  let result = await run();
  if (result.win.others > NOISY && retriesLeft > 0) {
    retriesLeft -= 1;
    console.log(`    (others used ${f1(result.win.others)}% of a core in that window: measuring again)`);
    const again = await run();
    if (again.win.others < result.win.others) result = again;
  }
  return result;
}

/** Processes of an owner (or a worker's children nobody claimed) worth naming. */
function notable(win: Measured, which: (p: Measured['perPid'][number]) => boolean): string {
  return win.perPid
    .filter((p) => which(p) && p.pct >= 1)
    .map((p) => `${path.basename(p.cmd.split(' ')[0] ?? '?')}[${p.pid}] ${f1(p.pct)}%`)
    .join(', ');
}

/** CPU of everything over `ms`. */
async function measure(owners: Owner[], ms: number): Promise<Measured> {
  const m0 = machineCpuSeconds();
  const b0 = cpuSeconds(process.pid);
  const s0 = snapshot(owners);
  const t0 = performance.now();
  await sleep(ms);
  const s1 = snapshot(owners);
  const seconds = (performance.now() - t0) / 1000;
  const b1 = cpuSeconds(process.pid);
  const m1 = machineCpuSeconds();
  const usage = usageBetween(s0, s1, seconds);
  const bench = ((b1 - b0) / seconds) * 100;
  const machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * cores * 100;
  const ours = [...usage.keys()].reduce((sum, owner) => sum + pctOf(usage, owner), 0) + bench;
  const perPid = [...s1].map(([pid, p]) => ({ ...p, pid, pct: ((p.cpu - (s0.get(pid)?.cpu ?? 0)) / seconds) * 100 }));
  return { seconds, usage, bench, machine, others: machine - ours, perPid };
}

// ---------------------------------------------------------------------------
// Jobs

interface Tracked {
  id: string;
  owner: Owner;
  startedAt: number;
}

const cleanups: (() => Promise<unknown> | unknown)[] = [];
/** Every owner this run made, to find leftovers at the end. */
const allOwners: Owner[] = [];
async function cleanUp(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      console.error('cleanup:', (error as Error).message);
    }
  }
}
process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));

const f1 = (n: number) => n.toFixed(1);
const pad = (s: string, n: number) => s.padStart(n);

async function main(): Promise<void> {
  console.log(
    `Recording cost on ${cores} cores: composite ${VIDEO.width}x${VIDEO.height}@${VIDEO.fps}, x264 ${ENCODER.preset} ${ENCODER.videoKbps} kbit/s + AAC 128 kbit/s`,
  );
  console.log(
    `room: ${SENDERS} synthetic participants (plain-RTP 'phone' peers: VP8 640x360 30 fps 500 kbit/s replayed + Opus with audio levels), no participant browsers`,
  );
  console.log(`CPU as % of one core from /proc/<pid>/stat, ${WINDOW_MS / 1000} s windows after ${WARMUP_MS / 1000} s warm-up\n`);

  // --- the system -----------------------------------------------------------
  const redis = await TestRedis.start();
  cleanups.push(() => redis.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recordings-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: dir });
  cleanups.push(() => bridge.stop());
  const worker = await spawnRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: { RECORDER_CONCURRENCY: String(MAX_JOBS) } });
  cleanups.push(() => stopProcess(worker, 'SIGTERM', 30_000));
  const queue = new RecordingQueue(redis.url, logger);
  cleanups.push(() => queue.close());
  const reader = new Queue(RECORDING_QUEUE, { connection: { url: redis.url } });
  cleanups.push(() => reader.close());
  const mediaWorkerPids = childPids(process.pid).filter((pid) => commandOf(pid).includes('mediasoup-worker'));
  const workerOwner: Owner = { name: 'worker', markers: [], pids: new Set([worker.pid!]) };
  const mediaOwner: Owner = { name: 'mediasoup', markers: [], pids: new Set(mediaWorkerPids) };
  const redisOwner: Owner = { name: 'redis', markers: [`redis-server 127.0.0.1:${redis.port}`], pids: new Set() };
  const infra = [workerOwner, mediaOwner, redisOwner];

  // --- the room's participants ---------------------------------------------
  const [video, opus] = await Promise.all([captureVp8(4, 500), captureOpus(4)]);
  const transmitter = new Transmitter(video, opus);
  await transmitter.bind();
  let transmitting = true;
  const stopTransmitter = () => {
    if (transmitting) transmitter.close();
    transmitting = false;
  };
  cleanups.push(stopTransmitter);
  const clients: SignalingClient[] = [];
  const closeClients = () => {
    for (const c of clients.splice(0)) c.close();
  };
  cleanups.push(closeClients);
  for (let i = 0; i < SENDERS; i++) {
    const { client } = await joinRoom(bridge.url, ROOM, `Participant ${i + 1}`, 'phone');
    clients.push(client);
    const t = await client.request('createPlainTransport', { comedia: true, rtcpMux: true });
    const ssrc = { audio: 1000 + i, video: 2000 + i };
    await client.request('produce', { transportId: t.id, kind: 'audio', source: 'mic', rtpParameters: AUDIO_RTP_PARAMETERS(ssrc.audio), paused: false });
    await client.request('produce', { transportId: t.id, kind: 'video', source: 'camera', rtpParameters: VIDEO_RTP_PARAMETERS(ssrc.video), paused: false });
    transmitter.add({ ssrc: ssrc.audio, target: { ip: t.ip, port: t.port } }, { ssrc: ssrc.video, target: { ip: t.ip, port: t.port } });
  }
  transmitter.start();

  const progressOf = async (id: string): Promise<RecordingProgress | undefined> =>
    recordingProgressSchema.safeParse((await Job.fromId(reader, id))?.progress).data;
  const resultOf = async (id: string): Promise<RecordingResult> =>
    waitFor(
      `job ${id} to finish`,
      async () => {
        const job = await Job.fromId(reader, id);
        const state = await job?.getState();
        if (state === 'failed') throw new Error(`job ${id} failed: ${job!.failedReason}`);
        return state === 'completed' ? recordingResultSchema.parse(job!.returnvalue) : undefined;
      },
      60_000,
      250,
    );
  const startJob = async (input: Parameters<RecordingQueue['start']>[0], marker: (id: string) => string): Promise<Tracked> => {
    const startedAt = performance.now();
    const info = await queue.start(input);
    const tracked = { id: info.id, owner: { name: info.id, markers: [marker(info.id)], pids: new Set<number>() }, startedAt };
    allOwners.push(tracked.owner);
    cleanups.push(() => queue.stop(info.id).catch(() => undefined));
    return tracked;
  };
  const untilFlowing = (id: string) =>
    waitFor(`job ${id} to be recording`, async () => ((await progressOf(id))?.frames ?? 0) > 0 || undefined, 90_000, 200);

  // --- 2. baseline: bare ffmpeg on a static screen -------------------------
  const baseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recording-baseline-'));
  cleanups.push(() => fs.rmSync(baseDir, { recursive: true, force: true }));
  const sink = await PulseSink.start(baseDir, logger);
  cleanups.push(() => sink.stop());
  const display = await VirtualDisplay.start(VIDEO.width, VIDEO.height, logger);
  cleanups.push(() => display.stop());
  const capture = new ScreenCapture({
    ffmpegPath: recorderDefaults.ffmpegPath,
    display: display.name,
    pulseServer: sink.server,
    pulseSource: sink.monitor,
    video: VIDEO,
    encoder: ENCODER,
    file: path.join(baseDir, 'baseline.mp4'),
    logger,
  });
  capture.once('died', (reason) => console.error(`baseline ffmpeg died: ${reason}`));
  capture.start();
  cleanups.push(() => capture.stop());
  await waitFor('the baseline capture to flow', () => capture.stats.frames > 0, 20_000, 100);
  const baseOwner: Owner = { name: 'baseline', markers: [baseDir], pids: new Set([xvfbOfDisplay(display.name)!]) };
  allOwners.push(baseOwner);
  await sleep(WARMUP_MS);
  const { bs0, win: baseWin, bs1 } = await quietly(async () => {
    const bs0 = { ...capture.stats, t: performance.now() };
    const win = await measure([baseOwner, ...infra], WINDOW_MS);
    const bs1 = { ...capture.stats, t: performance.now() };
    return { bs0, win, bs1 };
  });
  await capture.stop();
  await Promise.all([display.stop(), sink.stop()]);
  const base = {
    ffmpeg: pctOf(baseWin.usage, 'baseline', 'ffmpeg'),
    Xvfb: pctOf(baseWin.usage, 'baseline', 'Xvfb'),
    pulseaudio: pctOf(baseWin.usage, 'baseline', 'pulseaudio'),
    total: pctOf(baseWin.usage, 'baseline'),
    fps: (bs1.frames - bs0.frames) / ((bs1.t - bs0.t) / 1000),
    dropped: dropShare(bs1.droppedFrames - bs0.droppedFrames, bs1.frames - bs0.frames),
  };
  const idleWorker = pctOf(baseWin.usage, 'worker');
  console.log(
    `baseline (floor): bare ffmpeg x11grab of a static Xvfb screen + silent pulse null sink, same ScreenCapture arguments:\n` +
      `  ffmpeg ${f1(base.ffmpeg)}%  Xvfb ${f1(base.Xvfb)}%  pulseaudio ${f1(base.pulseaudio)}%  total ${f1(base.total)}% of a core;` +
      `  ${f1(base.fps)} fps, ${base.dropped.toFixed(2)}% dropped; machine ${f1(baseWin.machine)}%, others ${f1(baseWin.others)}%` +
      `\n  (idle recorder worker meanwhile: ${f1(idleWorker)}%)\n`,
  );

  // --- 1. composite recordings, 1..N at once --------------------------------
  const jobs: Tracked[] = [];
  interface Row {
    n: number;
    win: Measured;
    perJob: { id: string; cats: Record<Category, number>; procs: Record<Category, number>; total: number; fps: number; dropped: number; droppedFrames: number; frames: number }[];
    worker: number;
  }
  const rows: Row[] = [];
  console.log('composite recordings of the same room, added one at a time (per-job figures over the window):');
  for (let n = 1; n <= MAX_JOBS; n++) {
    const job = await startJob({ room: ROOM, mode: 'composite', outputs: { file: { format: 'mp4' } }, requestedBy: 'bench' }, (id) => `recorder-${worker.pid}-${id}-`);
    jobs.push(job);
    await untilFlowing(job.id);
    console.log(`  job ${n} recording ${((performance.now() - job.startedAt) / 1000).toFixed(1)} s after queueing`);
    await sleep(WARMUP_MS);
    const { p0, win, p1 } = await quietly(async () => {
      const p0 = await Promise.all(jobs.map((j) => progressOf(j.id)));
      const win = await measure([...jobs.map((j) => j.owner), ...infra], WINDOW_MS);
      const p1 = await Promise.all(jobs.map((j) => progressOf(j.id)));
      return { p0, win, p1 };
    });
    const perJob = jobs.map((j, i) => {
      const a = p0[i]!;
      const b = p1[i]!;
      const dt = b.durationSeconds - a.durationSeconds;
      const frames = b.frames - a.frames;
      const droppedFrames = b.droppedFrames - a.droppedFrames;
      const cats = Object.fromEntries(CATEGORIES.map((c) => [c, pctOf(win.usage, j.id, c)])) as Record<Category, number>;
      const procs = Object.fromEntries(CATEGORIES.map((c) => [c, procsOf(win.usage, j.id, c)])) as Record<Category, number>;
      return { id: j.id, cats, procs, total: pctOf(win.usage, j.id), fps: frames / dt, dropped: dropShare(droppedFrames, frames), droppedFrames, frames };
    });
    const row = { n, win, perJob, worker: pctOf(win.usage, 'worker') };
    const workerChildren = row.worker - pctOf(win.usage, 'worker', 'node');
    rows.push(row);
    for (const [i, j] of perJob.entries()) {
      const c = j.cats;
      console.log(
        `    n=${n} job ${i + 1}: Chromium ${f1(c.chromium)}% (${j.procs.chromium} procs)  ffmpeg ${f1(c.ffmpeg)}%  Xvfb ${f1(c.Xvfb)}%  pulse ${f1(c.pulseaudio)}%` +
          `${c.other || c.node ? `  other ${f1(c.other + c.node)}%` : ''}  = ${f1(j.total)}%;  ${f1(j.fps)} fps, ${j.droppedFrames} dropped of ${j.frames + j.droppedFrames} (${j.dropped.toFixed(2)}%)`,
      );
    }
    const unattributed = pctOf(win.usage, 'unattributed');
    const unclaimed = notable(win, (p) => p.owner === 'unattributed' || (p.owner === 'worker' && p.category !== 'node'));
    if (unclaimed) console.log(`    not attributed to a job: ${unclaimed}`);
    console.log(
      `    worker (Node) ${f1(row.worker)}%${workerChildren >= 0.5 ? ` (of which its unattributed children ${f1(workerChildren)}%)` : ''}, bench process (bridge + senders) ${f1(win.bench)}%, mediasoup ${f1(pctOf(win.usage, 'mediasoup'))}%` +
        `${unattributed >= 0.5 ? `, unattributed ${f1(unattributed)}%` : ''}; machine ${f1(win.machine)}% of ${cores * 100}%, others ${f1(win.others)}%`,
    );
  }

  // --- 3. headless tab capture of the same page ----------------------------
  // The x11grab jobs stop (and finish their files) first, so the two methods are measured alone.
  await stopJobs(jobs, queue);
  const results = await Promise.all(jobs.map((j) => resultOf(j.id)));
  let tab: Awaited<ReturnType<typeof tabCapture>> | undefined;
  if (!values['no-tab']) {
    console.log('\nheadless tab capture (getDisplayMedia preferCurrentTab + MediaRecorder avc1/opus -> ffmpeg -c:v copy -c:a aac), alone:');
    tab = await tabCapture(bridge.url, infra).catch((error: unknown) => {
      console.log(`  tab capture failed: ${(error as Error).message}`);
      return undefined;
    });
  }
  if (tab) {
    console.log(
      `  Chromium ${f1(tab.chromium)}% (${tab.chromiumProcs} procs, encoder ${tab.encoder})  ffmpeg ${f1(tab.ffmpeg)}%  = ${f1(tab.chromium + tab.ffmpeg)}%;` +
        `  ${f1(tab.fps)} fps into the file, audio tracks ${tab.audioTracks}; machine ${f1(tab.win.machine)}%, others ${f1(tab.win.others)}%`,
    );
  }

  // --- 4. audio-only --------------------------------------------------------
  stopTransmitter();
  closeClients();
  const phones: RtpSender[] = [];
  const closePhones = () => {
    for (const p of phones.splice(0)) p.close();
  };
  cleanups.push(closePhones);
  for (let i = 0; i < 2; i++) {
    const { client } = await joinRoom(bridge.url, AUDIO_ROOM, `Phone ${i + 1}`, 'phone');
    clients.push(client);
    const t = await client.request('createPlainTransport', { comedia: true, rtcpMux: true });
    const ssrc = 3000 + i;
    const codec = { mimeType: 'audio/PCMU', payloadType: 0, clockRate: 8000, channels: 1 };
    await client.request('produce', { transportId: t.id, kind: 'audio', source: 'mic', rtpParameters: { codecs: [codec], encodings: [{ ssrc }] }, paused: false });
    const phone = new RtpSender();
    await phone.bind();
    phone.start({ ip: t.ip, port: t.port }, { payloadType: 0, ssrc, clockRate: 8000, payloadBytes: 160 });
    phones.push(phone);
  }
  const audioJob = await startJob(
    { room: AUDIO_ROOM, mode: 'audio', outputs: { file: { format: 'm4a' } }, requestedBy: 'bench' },
    () => path.join(dir, AUDIO_ROOM) + path.sep,
  );
  await untilFlowing(audioJob.id);
  await sleep(WARMUP_MS);
  const { a0, win: audioWin, a1 } = await quietly(async () => {
    const a0 = (await progressOf(audioJob.id))!;
    const win = await measure([audioJob.owner, ...infra], WINDOW_MS);
    const a1 = (await progressOf(audioJob.id))!;
    return { a0, win, a1 };
  });
  await queue.stop(audioJob.id);
  const audioResult = await resultOf(audioJob.id);
  const audio = {
    ffmpeg: pctOf(audioWin.usage, audioJob.id, 'ffmpeg'),
    other: pctOf(audioWin.usage, audioJob.id) - pctOf(audioWin.usage, audioJob.id, 'ffmpeg'),
    worker: pctOf(audioWin.usage, 'worker'),
    framesPerSecond: (a1.frames - a0.frames) / (a1.durationSeconds - a0.durationSeconds),
    dropped: a1.droppedFrames - a0.droppedFrames,
  };
  closePhones();
  closeClients();

  // --- checks on the files --------------------------------------------------
  const last = results.at(-1)!;
  const lastFile = last.file ? path.join(dir, last.file) : undefined;
  const moving = lastFile ? await motionShare(lastFile) : 0;
  const volume = lastFile ? await audioVolume(lastFile) : { max: -91, mean: -91 };

  // --- report ----------------------------------------------------------------
  console.log('\nper recording (mean of the jobs; the Node worker is shared, so its CPU is divided by the jobs running), % of one core:\n');
  console.log('jobs  Chromium  ffmpeg   Xvfb  pulse  Node/N  per rec  x floor  ffmpeg x floor  all jobs  dropped%  fps mean/min  machine  others');
  for (const r of rows) {
    const mean = (c: Category) => r.perJob.reduce((s, j) => s + j.cats[c], 0) / r.n;
    const perRec = CATEGORIES.reduce((s, c) => s + mean(c), 0) + r.worker / r.n;
    const all = r.perJob.reduce((s, j) => s + j.total, 0) + r.worker;
    const dropped = dropShare(
      r.perJob.reduce((s, j) => s + j.droppedFrames, 0),
      r.perJob.reduce((s, j) => s + j.frames, 0),
    );
    const fpsMean = r.perJob.reduce((s, j) => s + j.fps, 0) / r.n;
    const fpsMin = Math.min(...r.perJob.map((j) => j.fps));
    console.log(
      `${pad(String(r.n), 4)}  ${pad(f1(mean('chromium')), 8)}  ${pad(f1(mean('ffmpeg')), 6)}  ${pad(f1(mean('Xvfb')), 5)}  ${pad(f1(mean('pulseaudio')), 5)}` +
        `  ${pad(f1(r.worker / r.n), 6)}  ${pad(f1(perRec), 7)}  ${pad(`x${(perRec / base.total).toFixed(2)}`, 7)}  ${pad(`x${(mean('ffmpeg') / base.ffmpeg).toFixed(2)}`, 14)}` +
        `  ${pad(f1(all), 8)}  ${pad(dropped.toFixed(2), 8)}  ${pad(`${f1(fpsMean)}/${f1(fpsMin)}`, 12)}  ${pad(f1(r.win.machine), 7)}  ${pad(f1(r.win.others), 6)}`,
    );
  }
  console.log(
    `floor ${pad('-', 8)}  ${pad(f1(base.ffmpeg), 6)}  ${pad(f1(base.Xvfb), 5)}  ${pad(f1(base.pulseaudio), 5)}  ${pad('-', 6)}  ${pad(f1(base.total), 7)}  ${pad('x1.00', 7)}` +
      `  ${pad('x1.00', 14)}  ${pad(f1(base.total), 8)}  ${pad(base.dropped.toFixed(2), 8)}  ${pad(`${f1(base.fps)}`, 12)}  ${pad(f1(baseWin.machine), 7)}  ${pad(f1(baseWin.others), 6)}`,
  );

  console.log('\nwhole jobs (from queueing to stop, startup included; ffmpeg counts drops while its inputs sync):');
  for (const [i, r] of results.entries()) {
    console.log(
      `  job ${i + 1}: ${f1(r.durationSeconds)} s, ${r.frames} frames, ${r.droppedFrames} dropped (${dropShare(r.droppedFrames, r.frames).toFixed(2)}%), ` +
        `${r.file ? `${(r.bytes / 1e6).toFixed(1)} MB` : 'no file'}, parts ${Math.max(1, r.parts.length)}, stop ${r.stopReason}${r.errors.length ? `, errors: ${r.errors.map((e) => e.message).join('; ')}` : ''}`,
    );
  }
  console.log(`  last job's file: video moves in ${(moving * 100).toFixed(0)}% of samples, audio peak ${f1(volume.max)} dBFS`);

  console.log(
    `\naudio-only (m4a, room of 2 plain-RTP PCMU phones, mixed in the worker's Node process, encoded by ffmpeg from stdin):\n` +
      `  ffmpeg ${f1(audio.ffmpeg)}%${audio.other >= 0.05 ? `, other ${f1(audio.other)}%` : ''}; Node worker ${f1(audio.worker)}% vs ${f1(idleWorker)}% idle` +
      ` -> +${f1(audio.worker - idleWorker)}%; total ${f1(audio.ffmpeg + audio.other + audio.worker - idleWorker)}% of a core` +
      ` (x${((audio.ffmpeg + audio.other + audio.worker - idleWorker) / base.total).toFixed(2)} of the video floor);` +
      ` ${f1(audio.framesPerSecond)} mix frames/s (target 50), ${audio.dropped} dropped; file ${audioResult.file ? `${(audioResult.bytes / 1e3).toFixed(0)} kB` : 'missing'}` +
      `; machine ${f1(audioWin.machine)}%, others ${f1(audioWin.others)}%`,
  );

  if (tab) {
    const one = rows[0]!;
    const j = one.perJob[0]!;
    const x11 = j.total + one.worker;
    const tabTotal = tab.chromium + tab.ffmpeg;
    console.log('\ncapture method, one recording of the same page, % of one core:');
    console.log(`                    Chromium  ffmpeg  Xvfb  pulse  Node   total   fps`);
    console.log(
      `  Xvfb + x11grab    ${pad(f1(j.cats.chromium), 8)}  ${pad(f1(j.cats.ffmpeg), 6)}  ${pad(f1(j.cats.Xvfb), 4)}  ${pad(f1(j.cats.pulseaudio), 5)}  ${pad(f1(one.worker), 4)}  ${pad(f1(x11), 6)}  ${pad(f1(j.fps), 4)}`,
    );
    console.log(
      `  headless tab      ${pad(f1(tab.chromium), 8)}  ${pad(f1(tab.ffmpeg), 6)}  ${pad('-', 4)}  ${pad('-', 5)}  ${pad('-', 4)}  ${pad(f1(tabTotal), 6)}  ${pad(f1(tab.fps), 4)}` +
        `   (x${(tabTotal / x11).toFixed(2)}; chunk relay through the bench process not counted)`,
    );
  }

  const worst2 = rows[1];
  console.log('\ncompared with the issue:');
  console.log('  Jibri needs 2-4 cores per recording; LiveKit egress reserves 3.0 CPU per room composite.');
  console.log('  Targets here: <= 1.0 core per recording, and 2 at once with < 1% dropped frames.');
  if (rows[0]) {
    const r = rows[0];
    const perRec = r.perJob[0]!.total + r.worker;
    console.log(`  1 recording: ${(perRec / 100).toFixed(2)} core (${perRec <= 100 ? 'met' : 'NOT met'}).`);
  }
  if (worst2) {
    const perRec = (worst2.perJob.reduce((s, j) => s + j.total, 0) + worst2.worker) / 2;
    const dropped = dropShare(
      worst2.perJob.reduce((s, j) => s + j.droppedFrames, 0),
      worst2.perJob.reduce((s, j) => s + j.frames, 0),
    );
    console.log(
      `  2 at once: ${(perRec / 100).toFixed(2)} core each, ${dropped.toFixed(2)}% dropped in the window (${perRec <= 100 && dropped < 1 ? 'met' : 'NOT met'}).`,
    );
  }
}

/** Drops as a share of the frames the input offered (encoded + dropped). */
function dropShare(dropped: number, frames: number): number {
  return frames + dropped > 0 ? (dropped / (frames + dropped)) * 100 : 0;
}

async function stopProcess(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function stopJobs(jobs: Tracked[], queue: RecordingQueue): Promise<void> {
  for (const j of jobs) await queue.stop(j.id);
}

declare global {
  interface Window {
    benchChunk?: (base64: string) => Promise<void>;
    benchRecorder?: MediaRecorder;
    benchChunks?: Promise<unknown>;
  }
}

/** The recorder page in headless Chromium, captured as a tab by MediaRecorder and remuxed by ffmpeg. */
async function tabCapture(bridgeUrl: string, others: Owner[]) {
  const closers: (() => Promise<unknown>)[] = [];
  try {
    return await tabCaptureIn(bridgeUrl, others, closers);
  } catch (error) {
    for (const close of closers) await close().catch(() => undefined); // nothing of it may run on into the next phase
    throw error;
  }
}

async function tabCaptureIn(bridgeUrl: string, others: Owner[], closers: (() => Promise<unknown>)[]) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tab-capture-'));
  cleanups.push(() => fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }));
  const output = path.join(profile, 'tab.mp4');
  const ffmpeg = spawn(
    recorderDefaults.ffmpegPath,
    [
      '-hide_banner', '-loglevel', 'warning', '-stats',
      '-f', 'matroska', '-i', 'pipe:0',
      '-map', '0:v', '-map', '0:a?', '-c:v', 'copy', '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2',
      '-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', output,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  cleanups.push(() => stopProcess(ffmpeg, 'SIGKILL', 1000));
  closers.push(() => stopProcess(ffmpeg, 'SIGKILL', 1000));
  ffmpeg.stdin!.on('error', () => undefined);
  let frames = 0;
  let log = '';
  ffmpeg.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    const all = [...text.matchAll(/frame=\s*(\d+)/g)];
    if (all.length) frames = Number(all.at(-1)![1]);
    else log = (log + text).slice(-2000);
  });
  const browser: Browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: path.join(profile, 'chromium'),
    defaultViewport: { width: VIDEO.width, height: VIDEO.height },
    ignoreDefaultArgs: ['--mute-audio'],
    args: [
      ...CHROMIUM_BASE_ARGS,
      '--autoplay-policy=no-user-gesture-required',
      '--auto-accept-this-tab-capture',
      `--window-size=${VIDEO.width},${VIDEO.height}`,
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
  cleanups.push(() => browser.close().catch(() => undefined));
  closers.unshift(() => browser.close());
  const page = (await browser.pages())[0] ?? (await browser.newPage());
  await page.evaluateOnNewDocument(`window.recorderSecret = ${JSON.stringify(TEST_SERVICE_SECRET)};`);
  await page.exposeFunction('benchChunk', async (base64: string) => {
    ffmpeg.stdin!.write(Buffer.from(base64, 'base64'));
  });
  await page.goto(`${bridgeUrl}/recorder/${ROOM}?layout=grid`);
  await page.waitForFunction("document.body.dataset.recorderReady === 'true'", { timeout: 20_000 });
  const started = await page.evaluate(
    async (width, height, fps, videoBitsPerSecond) => {
      const options = { video: { width, height, frameRate: fps }, audio: true, preferCurrentTab: true };
      const stream = await navigator.mediaDevices.getDisplayMedia(options as DisplayMediaStreamOptions);
      const avc = 'video/x-matroska;codecs=avc1,opus';
      const mimeType = MediaRecorder.isTypeSupported(avc) ? avc : 'video/webm;codecs=vp8,opus';
      const recorder = new MediaRecorder(stream, { mimeType, videoBitsPerSecond, audioBitsPerSecond: 128_000 });
      window.benchChunks = Promise.resolve();
      recorder.ondataavailable = (event) => {
        if (event.data.size === 0) return;
        window.benchChunks = window.benchChunks!.then(
          () =>
            new Promise<void>((resolve) => {
              const reader = new FileReader();
              // data:<type>;base64,<data>, and the type has a comma of its own (codecs=avc1,opus)
              reader.onload = () => {
                const url = reader.result as string;
                void window.benchChunk!(url.slice(url.indexOf(';base64,') + 8)).then(resolve);
              };
              reader.readAsDataURL(event.data);
            }),
        );
      };
      window.benchRecorder = recorder;
      recorder.start(500);
      return { mimeType, audioTracks: stream.getAudioTracks().length };
    },
    VIDEO.width,
    VIDEO.height,
    VIDEO.fps,
    ENCODER.videoKbps * 1000,
  );
  await waitFor('tab capture frames in ffmpeg', () => frames > 0, 20_000, 100).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}: ${log.trim()}`);
  });
  await sleep(WARMUP_MS);
  const owner: Owner = { name: 'tab', markers: [profile], pids: new Set([ffmpeg.pid!]) };
  allOwners.push(owner);
  const { f0, win, fEnd } = await quietly(async () => {
    const f0 = { frames, t: performance.now() };
    const win = await measure([owner, ...others], WINDOW_MS);
    const fEnd = { frames, t: performance.now() };
    return { f0, win, fEnd };
  });
  await page.evaluate(async () => {
    const recorder = window.benchRecorder!;
    const done = new Promise((resolve) => recorder.addEventListener('stop', resolve, { once: true }));
    recorder.stop();
    await done;
    await window.benchChunks;
  });
  ffmpeg.stdin!.end();
  await stopProcess(ffmpeg, 'SIGTERM', 10_000);
  await browser.close();
  return {
    win,
    chromium: pctOf(win.usage, 'tab', 'chromium'),
    chromiumProcs: procsOf(win.usage, 'tab', 'chromium'),
    ffmpeg: pctOf(win.usage, 'tab', 'ffmpeg'),
    fps: (fEnd.frames - f0.frames) / ((fEnd.t - f0.t) / 1000),
    encoder: started.mimeType,
    audioTracks: started.audioTracks,
  };
}

const benchStarted = performance.now();
try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanUp();
  // Anything of this run's still alive (a job's Xvfb or sink if a job failed): by pid.
  const leftovers = allPids().filter((pid) => {
    try {
      const cmd = commandOf(pid);
      const known = allOwners.some((o) => o.pids.has(pid)) && ['Xvfb', 'ffmpeg'].includes(fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
      return pid !== process.pid && (known || allOwners.some((o) => o.markers.some((m) => cmd.includes(m))));
    } catch {
      return false;
    }
  });
  for (const pid of leftovers) process.kill(pid, 'SIGKILL');
  if (leftovers.length) console.log(`killed ${leftovers.length} leftover processes`);
  console.log(`\n(run took ${((performance.now() - benchStarted) / 1000).toFixed(0)} s)`);
}
process.exit(process.exitCode ?? 0);
