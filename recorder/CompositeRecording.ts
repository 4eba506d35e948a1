import path from 'node:path';
import type { Logger } from '../common/logger.ts';
import type { RecordingJob } from '../queue/recordingJob.ts';
import { CaptureParts } from './CaptureParts.ts';
import { LiveStreams } from './capture/LiveStreams.ts';
import { PulseSink } from './capture/PulseSink.ts';
import { chromiumTrustArgs } from '../protocol/bridgeTrust.ts';
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

/** The parts of a composite capture that can die on their own; `rebuild` is a recovery that failed. */
type Piece = 'capture' | 'browser' | 'display' | 'sink' | 'rebuild';

/** Xvfb takes Chromium and ffmpeg with it: wait this long for every death to land before choosing a remedy. */
const SETTLE_MS = 500;

/**
 * The meeting as people see it: Chromium draws the recorder layout on a
 * virtual display, plays the room into a private audio sink, and ffmpeg
 * encodes both, once, for the file and every live stream. What dies is
 * brought back: a crashed ffmpeg starts a new part (the old one is a
 * playable fragmented MP4); a crashed Chromium is relaunched while ffmpeg
 * keeps recording; a dead display or audio sink rebuilds the whole capture
 * in a new part.
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
  /** What died since the last recovery, and why. */
  #broken = new Map<Piece, { reason: string; of: object }>();
  #recovery: Promise<void> | undefined;
  /** Until the first build is done, deaths are only noted: a recovery would tear down what is being built. */
  #built = false;
  #launches = 0;

  constructor(options: CompositeRecordingOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#parts = new CaptureParts(options.firstPart, options.onProblem);
  }

  async start(): Promise<number> {
    const { config, workDir, outputs, onProblem } = this.#options;
    if (outputs.streams.length > 0) {
      this.#streams = await LiveStreams.open({
        urls: outputs.streams,
        workDir,
        ffmpegPath: config.ffmpegPath,
        caFile: config.streamCaFile,
        onProblem,
        logger: this.#logger,
      });
    }
    await this.#build();
    this.#built = true;
    // 'active' should mean frames are being written, so a recording's length matches its file's.
    const capture = this.#capture!;
    if (this.#broken.size > 0) this.#recoverSoon();
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
  async stop(at?: number): Promise<void> {
    this.#stopping = true;
    await this.#recovery;
    await this.#capture?.stop(at);
    this.#parts.end('stopped', at);
    await this.#streams?.stop();
    await this.#teardown();
  }

  /** Audio sink, display, browser, then the capture of both. */
  async #build(): Promise<void> {
    const { job, workDir } = this.#options;
    const sink = await PulseSink.start(workDir, this.#logger);
    sink.once('died', (reason) => this.#died('sink', reason, sink));
    this.#sink = sink;
    const display = await VirtualDisplay.start(job.video.width, job.video.height, this.#logger);
    display.once('died', (reason) => this.#died('display', reason, display));
    this.#display = display;
    await this.#launchBrowser();
    this.#startCapture();
  }

  async #teardown(): Promise<void> {
    await this.#browser?.close();
    await Promise.all([this.#display?.stop(), this.#sink?.stop()]);
  }

  async #launchBrowser(): Promise<void> {
    const { config, job, workDir } = this.#options;
    const url = `${config.bridgeUrl}/recorder/${encodeURIComponent(job.room)}?layout=${job.layout}`;
    this.#launches += 1;
    const browser = await RecorderBrowser.launch({
      chromiumPath: config.chromiumPath,
      url,
      // Asked at each launch: the bridge's certificate may have been renewed since.
      trustArgs: await chromiumTrustArgs(config.bridgeUrl, config.bridgeTrust),
      secret: config.serviceSecret,
      display: this.#display!.name,
      pulseServer: this.#sink!.server,
      width: job.video.width,
      height: job.video.height,
      // A fresh profile each time: a crashed one restores its old session, which aborts the page's navigation.
      profileDir: path.join(workDir, `chromium-${this.#launches}`),
      logger: this.#logger,
    });
    browser.once('crashed', (reason) => this.#died('browser', reason, browser));
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
    capture.once('died', (reason) => this.#died('capture', reason, capture));
    if (file) {
      this.#parts.begin(file);
      capture.once('flowing', (since) => this.#parts.capturedFrom(since));
    }
    capture.start();
    this.#capture = capture;
  }

  #died(piece: Piece, reason: string, of: object): void {
    if (this.#stopping || !this.#isCurrent(of)) return;
    if (!this.#broken.has(piece)) this.#broken.set(piece, { reason, of });
    if (this.#built) this.#recoverSoon();
  }

  #recoverSoon(): void {
    this.#recovery ??= this.#recover().finally(() => (this.#recovery = undefined));
  }

  /** Brings back what died, one recovery at a time; deaths during one are handled by the next round. */
  async #recover(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    while (!this.#stopping && this.#broken.size > 0) {
      // Deaths of what an earlier round already replaced need nothing more.
      const broken = new Map([...this.#broken].filter(([, { of }]) => this.#isCurrent(of)).map(([piece, { reason }]) => [piece, reason]));
      this.#broken.clear();
      try {
        if (!(await this.#remedy(broken))) return;
      } catch (error) {
        // Rebuilt from scratch next round (it counts against the crash budget).
        this.#broken.set('rebuild', { reason: (error as Error).message, of: this });
        this.#options.onProblem(`cannot restart the capture (${(error as Error).message}); trying again`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** One round of recovery; false once the crash budget is spent. */
  async #remedy(broken: Map<Piece, string>): Promise<boolean> {
    // Chromium or ffmpeg may be the first to report that the display or the sink went away.
    if (!broken.has('rebuild')) {
      if (!broken.has('display') && this.#display && !(await this.#display.responds())) broken.set('display', 'stopped taking clients');
      if (!broken.has('sink') && this.#sink && !(await this.#sink.responds())) broken.set('sink', 'stopped taking clients');
    }
    const display = broken.get('display');
    const sink = broken.get('sink');
    const rebuild = broken.get('rebuild');
    if (display !== undefined || sink !== undefined || rebuild !== undefined) {
      const [what, reason] =
        display !== undefined ? ['the virtual display (Xvfb)', display] : sink !== undefined ? ['the audio sink (pulseaudio)', sink] : ['the capture', rebuild!];
      // A capture still running (a failed relaunch left it) ends its part too: the rebuilt one writes the next.
      const capture = this.#capture;
      if (!(capture ? this.#retireCapture(reason, what) : this.#parts.mayRestart(`cannot restart the capture: ${reason}`))) return false;
      await capture?.stop(); // it may outlive its input for a moment
      await this.#teardown();
      if (!this.#stopping) await this.#build();
      return true;
    }
    const capture = broken.get('capture');
    if (capture !== undefined) {
      if (!this.#retireCapture(capture)) return false;
      this.#startCapture();
    }
    const browser = broken.get('browser');
    if (browser !== undefined) {
      if (!this.#parts.mayRestart(`the browser crashed: ${browser}`)) return false;
      this.#options.onProblem(`the browser crashed (${browser}); relaunched, the recording continues`);
      await this.#launchBrowser();
    }
    return true;
  }

  #isCurrent(of: object): boolean {
    return of === this || of === this.#capture || of === this.#browser || of === this.#display || of === this.#sink;
  }

  /** The capture's part ends (its counters kept); false when the crash budget is spent. */
  #retireCapture(reason: string, what?: string): boolean {
    const capture = this.#capture;
    this.#framesBefore += capture?.stats.frames ?? 0;
    this.#droppedBefore += capture?.stats.droppedFrames ?? 0;
    this.#capture = undefined;
    return this.#parts.captureDied(reason, what);
  }
}
