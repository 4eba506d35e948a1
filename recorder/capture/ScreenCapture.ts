import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.ts';
import type { SupervisedProcess } from '../../common/SupervisedProcess.ts';
import { screenCaptureArgs, type ScreenCaptureArgs } from '../ffmpegArgs.ts';
import { ffmpegProcess } from '../ffmpegProcess.ts';
import { pollUntil } from './processes.ts';

/** What to capture and where to write it (see screenCaptureArgs), with the ffmpeg that does it. */
export interface ScreenCaptureOptions extends ScreenCaptureArgs {
  ffmpegPath: string;
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

/** How long ffmpeg may take to finish its outputs after 'q'. */
const STOP_GRACE_MS = 15_000;
/**
 * How long a stop waits for a loaded encoder to catch up with the moment of
 * the stop before 'q' (which drops what is still queued). Two recordings on 2
 * busy cores ran 7 s behind: the file lost its last 7 s. Waiting longer costs
 * nothing in the file: what it captures past the stop is cut when the parts
 * are joined (finalize.ts).
 */
const CATCH_UP_MS = 15_000;
/**
 * An encoder that has written nothing new for this long is stalled (its
 * display or audio sink died), not behind: waiting cannot catch it up, and
 * the rebuild that follows (a new part) would wait CATCH_UP_MS for nothing.
 * ffmpeg reports its progress twice a second.
 */
const STALLED_MS = 2000;
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
  #process: SupervisedProcess | undefined;
  #flowing = false;
  /** When the first written frame was captured, and how much media has been written since. */
  #since = 0;
  #writtenSeconds = 0;
  /** When the written time last grew. */
  #progressAt = 0;
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
    const { ffmpegPath, logger, ...args } = this.options;
    // 'q', as a person would: the outputs are finished and closed.
    const ffmpeg = ffmpegProcess(ffmpegPath, screenCaptureArgs(args), { stopWith: 'q', graceMs: STOP_GRACE_MS, onLine: (line) => this.#onLine(line) });
    logger.debug({ pid: ffmpeg.pid }, 'capture started');
    ffmpeg.once('died', (reason) => this.emit('died', `ffmpeg ${reason}`));
    this.#process = ffmpeg;
  }

  /**
   * Ends the capture cleanly ('q'). A loaded encoder runs behind; it first
   * catches up with the moment of the stop (for at most CATCH_UP_MS, and not
   * once it has stalled), since 'q' drops what is still queued.
   */
  async stop(at = Date.now()): Promise<void> {
    const until = (Math.min(at, Date.now()) - this.#since) / 1000;
    const ffmpeg = this.#process;
    await ffmpeg?.stop(async () => {
      if (this.#flowing) {
        const caughtUp = () => this.#writtenSeconds >= until || !ffmpeg.running || Date.now() - this.#progressAt > STALLED_MS;
        await pollUntil(caughtUp, CATCH_UP_MS, 'behind').catch(() => undefined);
      }
    });
  }

  #onLine(line: string): void {
    const stats = STATS.exec(line);
    if (stats) {
      this.stats.frames = Number(stats[1]);
      this.stats.droppedFrames = Number(stats[5]);
      const written = Number(stats[2]) * 3600 + Number(stats[3]) * 60 + Number(stats[4]);
      if (written > this.#writtenSeconds) this.#progressAt = Date.now();
      this.#writtenSeconds = written;
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
}
