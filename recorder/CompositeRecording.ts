import path from 'node:path';
import type { Logger } from '../bridge/logger.ts';
import type { RecordingJob } from '../queue/recordingJob.ts';
import { CaptureParts } from './CaptureParts.ts';
import { LiveStreams } from './capture/LiveStreams.ts';
import { PulseSink } from './capture/PulseSink.ts';
import { RecorderBrowser } from './capture/RecorderBrowser.ts';
import { ScreenCapture } from './capture/ScreenCapture.ts';
import { VirtualDisplay } from './capture/VirtualDisplay.ts';
import type { RecorderConfig } from './config.ts';
import type { ProblemReporter, RecordingSource, SourceOutputs, SourceStatus } from './RecordingSource.ts';

export interface CompositeRecordingOptions {
  config: RecorderConfig;
  job: RecordingJob;
  /** Scratch space of this job (audio sink and live feed sockets, browser profile). */
  workDir: string;
  outputs: SourceOutputs;
  /** Part numbers continue after an earlier attempt's. */
  firstPart: number;
  onProblem: ProblemReporter;
  logger: Logger;
}


/**
 * The meeting as people see it: Chromium draws the recorder layout on a
 * virtual display, plays the room into a private audio sink, and ffmpeg
 * encodes both, once, for the file and every live stream. A crashed ffmpeg
 * starts a new part (the old one is a playable fragmented MP4); a crashed
 * Chromium is relaunched while ffmpeg keeps recording.
 */
export class CompositeRecording implements RecordingSource {
  readonly #options: CompositeRecordingOptions;
  readonly #logger: Logger;
  readonly #parts: CaptureParts;
  #streams: LiveStreams | undefined;
  #display: VirtualDisplay | undefined;
  #sink: PulseSink | undefined;
  #browser: RecorderBrowser | undefined;
  #capture: ScreenCapture | undefined;
  #stopping = false;
  #framesBefore = 0;
  #droppedBefore = 0;

  constructor(options: CompositeRecordingOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#parts = new CaptureParts(options.firstPart, options.onProblem);
  }

  async start(): Promise<number> {
    const { config, job, workDir, outputs, onProblem } = this.#options;
    if (outputs.streams.length > 0) {
      this.#streams = await LiveStreams.open({ urls: outputs.streams, workDir, ffmpegPath: config.ffmpegPath, onProblem, logger: this.#logger });
    }
    this.#sink = await PulseSink.start(workDir, this.#logger);
    this.#display = await VirtualDisplay.start(job.video.width, job.video.height, this.#logger);
    await this.#launchBrowser();
    this.#startCapture();
    // 'active' should mean frames are being written, so a recording's length matches its file's.
    const capture = this.#capture!;
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the capture produced no frames within 20 s')), 20_000);
      capture.once('flowing', (since) => {
        clearTimeout(timer);
        resolve(since);
      });
    });
  }

  status(): SourceStatus {
    const current = this.#capture?.stats;
    return {
      frames: this.#framesBefore + (current?.frames ?? 0),
      droppedFrames: this.#droppedBefore + (current?.droppedFrames ?? 0),
      streams: this.#streams?.status() ?? [],
      parts: this.#parts.list(),
    };
  }

  async ended(): Promise<string | null> {
    return (await this.#browser?.ended()) ?? null;
  }

  /** Ends cleanly: ffmpeg finishes its outputs first, then the rest goes. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#capture?.stop();
    this.#parts.end('stopped');
    await this.#streams?.stop();
    await this.#browser?.close();
    await Promise.all([this.#display?.stop(), this.#sink?.stop()]);
  }

  async #launchBrowser(): Promise<void> {
    const { config, job, workDir } = this.#options;
    const url = `${config.bridgeUrl}/recorder/${encodeURIComponent(job.room)}?layout=${job.layout}`;
    const browser = await RecorderBrowser.launch({
      chromiumPath: config.chromiumPath,
      url,
      secret: config.serviceSecret,
      display: this.#display!.name,
      pulseServer: this.#sink!.server,
      width: job.video.width,
      height: job.video.height,
      profileDir: path.join(workDir, 'chromium'),
      logger: this.#logger,
    });
    browser.once('crashed', (reason) => void this.#onBrowserCrash(reason));
    this.#browser = browser;
  }

  #startCapture(): void {
    const { config, job, outputs } = this.#options;
    const file = outputs.partPath?.(this.#parts.number);
    const capture = new ScreenCapture({
      ffmpegPath: config.ffmpegPath,
      display: this.#display!.name,
      pulseServer: this.#sink!.server,
      pulseSource: this.#sink!.monitor,
      video: job.video,
      encoder: config.encoder,
      file,
      live: this.#streams?.input,
      logger: this.#logger,
    });
    capture.on('outputFailed', (output, reason) =>
      this.#options.onProblem(output === 'file' ? `cannot write the recording file: ${reason}` : `cannot feed the live streams: ${reason}`),
    );
    capture.once('died', (reason) => void this.#onCaptureDeath(capture, reason));
    if (file) this.#parts.begin(file);
    capture.start();
    this.#capture = capture;
  }

  async #onCaptureDeath(capture: ScreenCapture, reason: string): Promise<void> {
    if (this.#stopping || capture !== this.#capture) return;
    this.#framesBefore += capture.stats.frames;
    this.#droppedBefore += capture.stats.droppedFrames;
    if (!this.#parts.captureDied(reason)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (!this.#stopping) this.#startCapture();
  }

  async #onBrowserCrash(reason: string): Promise<void> {
    if (this.#stopping || !this.#parts.mayRestart(`the browser crashed: ${reason}`)) return;
    this.#options.onProblem(`the browser crashed (${reason}); relaunched, the recording continues`);
    try {
      await this.#launchBrowser();
    } catch (error) {
      this.#options.onProblem(`cannot relaunch the browser: ${(error as Error).message}`, true);
    }
  }
}
