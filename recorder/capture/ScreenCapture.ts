import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '../../common/logger.ts';
import { exited, pollUntil } from './processes.ts';

export interface ScreenCaptureOptions {
  ffmpegPath: string;
  display: string;
  pulseServer: string;
  pulseSource: string;
  video: { width: number; height: number; fps: number };
  encoder: { preset: string; videoKbps: number };
  /** A fragmented MP4 (playable up to the last fragment if anything dies). */
  file?: string;
  /** Where the live streams' relays read the same encode as MPEG-TS (see LiveStreams). */
  live?: string;
  logger: Logger;
}

export interface CaptureStats {
  frames: number;
  droppedFrames: number;
}

interface ScreenCaptureEvents {
  /** ffmpeg ended by itself (a crash, or every output failed). */
  died: [reason: string];
  /** The file or the live feed could not be written; the other goes on. */
  outputFailed: [output: 'file' | 'live', reason: string];
  /** Frames are being written; the first was captured at `since` (ms since the epoch). */
  flowing: [since: number];
}

const NO_PROBE = ['-probesize', '32', '-analyzeduration', '0'];
// Each input's first timestamp: x11grab and pulse stamp with the wall clock (seconds since the epoch).
const INPUT_START = /^\s*Duration: .*?, start: (\d+\.\d+),/;
const STATS = /frame=\s*(\d+).*?time=(\d+):(\d+):([\d.]+).*?drop=\s*(\d+)/;
const SLAVE_FAILED = /Slave muxer #(\d+) failed(?::\s*(.*?))?, continuing/;
const SLAVE_OPEN_FAILED = /Slave '(?:\[[^\]]*\])?(.*?)': error opening: (.*)/;

/**
 * One ffmpeg capturing a virtual display and an audio sink, encoding once
 * (x264 + AAC) and writing the file and the live feed through the tee
 * muxer with onfail=ignore, so neither failing stops the other.
 */
export class ScreenCapture extends EventEmitter<ScreenCaptureEvents> {
  readonly stats: CaptureStats = { frames: 0, droppedFrames: 0 };
  readonly #outputs: ('file' | 'live')[];
  readonly #logger: Logger;
  #process: ChildProcess | undefined;
  #stopping = false;
  #flowing = false;
  /** When the first written frame was captured, and how much media has been written since. */
  #since = 0;
  #writtenSeconds = 0;
  readonly #inputStarts: number[] = [];
  readonly #openErrors = new Map<string, string>();
  readonly options: ScreenCaptureOptions;

  constructor(options: ScreenCaptureOptions) {
    super();
    this.options = options;
    this.#outputs = [...(options.file ? ['file' as const] : []), ...(options.live ? ['live' as const] : [])];
    this.#logger = options.logger;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  start(): void {
    const { video, encoder, ffmpegPath } = this.options;
    // A keyframe every second: RTMP services want <= 4 s, and the MP4 is cut into
    // 1 s fragments, so a crash loses about a second.
    const gop = video.fps;
    const command = ffmpeg()
      .setFfmpegPath(ffmpegPath)
      .input(`${this.options.display}.0+0,0`)
      .inputFormat('x11grab')
      // Raw inputs need no probing; without it the file starts when the stats say frames flow, not a second earlier.
      // A short screen queue: an encoder that falls behind drops (and counts) frames instead of
      // queueing seconds of them, so the file keeps wall-clock time and 'q' loses little.
      .inputOptions([...NO_PROBE, '-framerate', String(video.fps), '-video_size', `${video.width}x${video.height}`, '-draw_mouse', '0', '-thread_queue_size', '16'])
      .input(this.options.pulseSource)
      .inputFormat('pulse')
      .inputOptions([...NO_PROBE, '-server', this.options.pulseServer, '-thread_queue_size', '1024'])
      .outputOptions([
        // One clock for both inputs: each would otherwise start at zero on its own, and the audio, which
        // opens later, would lead the picture by that gap (20-330 ms measured). Both inputs stamp with the
        // wall clock; the output shifts them together so the earlier one starts at zero.
        '-copyts',
        '-avoid_negative_ts', 'make_zero',
        '-map', '0:v',
        '-map', '1:a',
        '-c:v', 'libx264',
        '-preset', encoder.preset,
        '-tune', 'zerolatency',
        '-pix_fmt', 'yuv420p',
        '-g', String(gop),
        '-keyint_min', String(gop),
        '-sc_threshold', '0',
        '-b:v', `${encoder.videoKbps}k`,
        '-maxrate', `${encoder.videoKbps}k`,
        '-bufsize', `${encoder.videoKbps * 2}k`,
        '-c:a', 'aac',
        '-b:a', '128k',
        '-ar', '48000',
        '-ac', '2',
        '-flags', '+global_header',
        // info: the inputs' start times, which say when the file's first frame was captured.
        '-loglevel', 'info',
        '-stats',
        // Frequent stats: 'flowing' (and so 'active') soon after the first frame is written.
        '-stats_period', '0.2',
      ])
      .output(this.#teeSpec())
      .format('tee');
    // fluent-ffmpeg spawns ffmpeg only after probing its capabilities, so the process appears at 'start'.
    command.on('start', (line: string) => {
      this.#process = (command as unknown as { ffmpegProc: ChildProcess }).ffmpegProc;
      this.#process.stdin?.on('error', () => undefined); // 'q' to an ffmpeg that just died
      this.#logger.debug({ command: line }, 'capture started');
      if (this.#stopping) this.#process.stdin?.write('q');
    });
    command.on('stderr', (line: string) => this.#onLine(line));
    command.on('error', (error: Error) => this.#ended(error.message));
    command.on('end', () => this.#ended(null));
    command.run();
  }

  /**
   * Ends the capture cleanly ('q', as a person would): outputs are finished and
   * closed. A loaded encoder runs behind; it first catches up with the moment
   * of the stop (for at most 3 s), since 'q' drops what is still queued.
   */
  async stop(at = Date.now()): Promise<void> {
    const until = (Math.min(at, Date.now()) - this.#since) / 1000;
    this.#stopping = true;
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (this.#flowing) await pollUntil(() => this.#writtenSeconds >= until || child.exitCode !== null, 3000, 'behind').catch(() => undefined);
    child.stdin?.write('q');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited(child);
    clearTimeout(timer);
  }

  #teeSpec(): string {
    const escape = (target: string) => target.replace(/[\\|[\]]/g, (c) => `\\${c}`);
    const file = this.options.file ? [`[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1:onfail=ignore]${escape(this.options.file)}`] : [];
    // MPEG-TS: a relay (re)started mid-stream picks it up at the next keyframe.
    const live = this.options.live ? [`[f=mpegts:onfail=ignore]${escape(this.options.live)}`] : [];
    return [...file, ...live].join('|');
  }

  #onLine(line: string): void {
    const stats = STATS.exec(line);
    if (stats) {
      this.stats.frames = Number(stats[1]);
      this.stats.droppedFrames = Number(stats[5]);
      this.#writtenSeconds = Number(stats[2]) * 3600 + Number(stats[3]) * 60 + Number(stats[4]);
      if (!this.#flowing && this.stats.frames > 0) {
        this.#flowing = true;
        // The file begins with the earlier input's first capture. Counting back from what is written
        // would miss a slow start's backlog and duplicated frames.
        this.#since = this.#inputStarts.length > 0 ? Math.min(...this.#inputStarts) : Date.now() - this.#writtenSeconds * 1000;
        this.emit('flowing', this.#since);
      }
      return;
    }
    const start = INPUT_START.exec(line);
    if (start) this.#inputStarts.push(Math.round(Number(start[1]) * 1000));
    const openFailed = SLAVE_OPEN_FAILED.exec(line);
    if (openFailed) this.#openErrors.set(openFailed[1]!, openFailed[2]!.trim());
    const failed = SLAVE_FAILED.exec(line);
    const output = failed && this.#outputs[Number(failed[1])];
    if (output) {
      const target = output === 'file' ? this.options.file : this.options.live;
      this.emit('outputFailed', output, this.#openErrors.get(target ?? '') ?? failed[2] ?? 'it failed');
    }
    if (!stats && line.trim()) this.#logger.debug({ line }, 'ffmpeg');
  }

  #ended(error: string | null): void {
    if (this.#stopping) return;
    this.emit('died', error ? `ffmpeg: ${error.split('\n')[0]}` : 'ffmpeg stopped by itself');
  }
}
