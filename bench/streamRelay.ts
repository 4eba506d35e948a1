// What live streaming through per-destination relays costs, against
// writing the streams from the encoder itself.
//
// The encoder is the recorder's (720p30, x264 veryfast, 2500 kbit/s, 1 s
// GOP, AAC 128 kbit/s, fragmented MP4 through the tee muxer) fed by a moving
// ffmpeg test pattern instead of a screen grab, so only the output side
// differs:
//   relays: tee -> file + MPEG-TS to a unix socket -> LiveStreams (this
//           process fans it out) -> one `ffmpeg -c copy -f flv` per destination;
//   direct: tee -> file + one FLV slave per destination (the design before
//           relays; a dropped destination stays dropped).
// Both send to a real nginx-rtmp on 127.0.0.1. Alternated (relays, direct,
// relays, direct) so drift on this shared machine shows; CPU from /proc over
// each window after a warm-up.
//
//   npm run bench:relay -- --destinations 2 --seconds 15
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../common/logger.ts';
import { LiveStreams } from '../recorder/capture/LiveStreams.ts';
import { loadRecorderConfig } from '../recorder/config.ts';
import { NginxRtmp } from '../test/helpers/nginxRtmp.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { childPids, commandOf, cpuSeconds } from './lib/procStat.ts';

const { values } = parseArgs({
  options: {
    destinations: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '4' },
  },
});
const DESTINATIONS = Number(values.destinations);
const WINDOW_MS = Number(values.seconds) * 1000;
const WARMUP_MS = Number(values.warmup) * 1000;
const { ffmpegPath, encoder } = loadRecorderConfig({});
const logger = createLogger('warn', 'bench');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The recorder's encode (ScreenCapture's settings) of a moving pattern, to the given tee outputs. */
function startEncoder(tee: string): ChildProcess {
  const gop = '30';
  return spawn(
    ffmpegPath,
    [
      ...['-hide_banner', '-loglevel', 'error', '-re'],
      ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', encoder.preset, '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
      ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-b:v', `${encoder.videoKbps}k`, '-maxrate', `${encoder.videoKbps}k`, '-bufsize', `${encoder.videoKbps * 2}k`],
      ...['-c:a', 'aac', '-b:a', '128k', '-ac', '2', '-flags', '+global_header', '-f', 'tee', tee],
    ],
    { stdio: ['pipe', 'ignore', 'inherit'] },
  );
}

const FILE_SLAVE = (file: string) => `[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1:onfail=ignore]${file}`;

interface Window {
  encoder: number;
  relays: number;
  node: number;
  received: number;
}

/** % of one core used over the window by the encoder, the relays (its children's ffmpegs) and this process. */
async function measure(encoderPid: number, relayPids: () => number[], nginx: NginxRtmp, keys: string[]): Promise<Window> {
  await sleep(WARMUP_MS);
  const relays0 = new Map(relayPids().map((pid) => [pid, cpuSeconds(pid)]));
  const encoder0 = cpuSeconds(encoderPid);
  const node0 = process.cpuUsage();
  const bytes0 = keys.map((key) => nginx.recordings(key).reduce((sum, r) => sum + r.bytes, 0));
  const t0 = performance.now();
  await sleep(WINDOW_MS);
  const seconds = (performance.now() - t0) / 1000;
  const relays = [...relays0].reduce((sum, [pid, before]) => sum + cpuSeconds(pid) - before, 0);
  const node = process.cpuUsage(node0);
  const received = keys.reduce((sum, key, i) => sum + nginx.recordings(key).reduce((s, r) => s + r.bytes, 0) - bytes0[i]!, 0);
  const pct = (cpu: number) => (100 * cpu) / seconds;
  return {
    encoder: pct(cpuSeconds(encoderPid) - encoder0),
    relays: pct(relays),
    node: pct((node.user + node.system) / 1e6),
    received: (received * 8) / seconds / 1000 / keys.length,
  };
}

async function stopEncoder(child: ChildProcess): Promise<void> {
  child.stdin!.write('q');
  await new Promise((resolve) => child.once('exit', resolve));
}

async function viaRelays(nginx: NginxRtmp, dir: string, round: number): Promise<Window> {
  const keys = Array.from({ length: DESTINATIONS }, (_, i) => `relay${round}-${i}`);
  const workDir = fs.mkdtempSync(path.join(dir, 'relays-'));
  const streams = await LiveStreams.open({ urls: keys.map((key) => nginx.url(key)), workDir, ffmpegPath, caFile: undefined, onProblem: (m) => console.error(m), logger });
  const child = startEncoder(`${FILE_SLAVE(path.join(workDir, 'out.mp4'))}|[f=mpegts:onfail=ignore]${streams.input}`);
  await waitFor('every relay live', () => streams.status().every((s) => s.state === 'live'), 20_000, 100);
  const relayPids = () => childPids(process.pid).filter((pid) => pid !== child.pid && commandOf(pid).includes('-f mpegts -i pipe:0'));
  const window = await measure(child.pid!, relayPids, nginx, keys);
  await stopEncoder(child);
  await streams.stop();
  return window;
}

async function direct(nginx: NginxRtmp, dir: string, round: number): Promise<Window> {
  const keys = Array.from({ length: DESTINATIONS }, (_, i) => `direct${round}-${i}`);
  const workDir = fs.mkdtempSync(path.join(dir, 'direct-'));
  const slaves = keys.map((key) => `[f=flv:flvflags=no_duration_filesize:onfail=ignore]${nginx.url(key)}`);
  const child = startEncoder([FILE_SLAVE(path.join(workDir, 'out.mp4')), ...slaves].join('|'));
  await waitFor('every destination receiving', () => keys.every((key) => nginx.recordings(key).some((r) => r.bytes > 0)), 20_000, 100);
  const window = await measure(child.pid!, () => [], nginx, keys);
  await stopEncoder(child);
  return window;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-relay-'));
  const nginx = await NginxRtmp.start();
  try {
    const rows: [string, Window][] = [];
    for (let round = 1; round <= 2; round++) {
      rows.push([`relays (${round})`, await viaRelays(nginx, dir, round)]);
      rows.push([`direct (${round})`, await direct(nginx, dir, round)]);
    }
    const f1 = (n: number) => n.toFixed(1);
    console.log(`\n${DESTINATIONS} destinations, ${WINDOW_MS / 1000} s windows, % of one core\n`);
    console.log('| run | encoder | relays (all) | fan-out (Node) | total | kbit/s received per destination |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, w] of rows) console.log(`| ${name} | ${f1(w.encoder)} | ${f1(w.relays)} | ${f1(w.node)} | ${f1(w.encoder + w.relays + w.node)} | ${w.received.toFixed(0)} |`);
    const mean = (kind: string, pick: (w: Window) => number) => {
      const picked = rows.filter(([name]) => name.startsWith(kind)).map(([, w]) => pick(w));
      return picked.reduce((a, b) => a + b, 0) / picked.length;
    };
    const total = (w: Window) => w.encoder + w.relays + w.node;
    const extra = mean('relays', total) - mean('direct', total);
    console.log(`\nrelays cost x${(mean('relays', total) / mean('direct', total)).toFixed(2)} the direct design in total;`);
    console.log(`extra per destination: ${f1(extra / DESTINATIONS)}% of a core (x${(extra / DESTINATIONS / mean('direct', (w) => w.encoder)).toFixed(3)} the encode)`);
  } finally {
    await nginx.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
