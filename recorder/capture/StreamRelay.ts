import { Backoff } from '../../common/backoff.ts';
import type { Logger } from '../../common/logger.ts';
import type { SupervisedProcess } from '../../common/SupervisedProcess.ts';
import type { StreamStatus } from '../../protocol/protocol.ts';
import { redactStreamUrl } from '../../queue/recordingJob.ts';
import type { ProblemReporter } from '../RecordingSource.ts';
import { streamRelayArgs } from '../ffmpegArgs.ts';
import { ffmpegProcess } from '../ffmpegProcess.ts';
import { describeStreamFailure } from '../streamErrors.ts';

export interface StreamRelayOptions {
  url: string;
  ffmpegPath: string;
  /** Trusted CAs for an rtmps:// destination (default: the system's). */
  caFile: string | undefined;
  onProblem: ProblemReporter;
  logger: Logger;
}

/** A destination that has not taken what it was sent by then is stuck (~16 s of a 2.5 Mb/s stream): reconnect. */
const MAX_BACKLOG_BYTES = 5_000_000;
/** Reconnect attempts back off from 1 s to 30 s, and give up once the destination has been gone this long. */
const RETRY = { firstMs: 1000, maxMs: 30_000 };
const GIVE_UP_AFTER_MS = 5 * 60_000;
const STOP_GRACE_MS = 5000;

const FRAMES = /frame=\s*(\d+)/;
const PROTOCOL_ERROR = /\[(?:rtmp|tls|tcp|flv) @ [^\]]+\] (.*)/;
const WRITE_ERROR = /^av_interleaved_write_frame\(\): (.*)/;
/**
 * Our own feed, not the destination, stopped ffmpeg before it sent anything: its probe of the
 * encoded meeting found no audio parameters, so it cannot write the FLV header. At a recording's
 * start on a loaded machine the audio can follow the video by seconds (a CI run failed a stream
 * so). Tried again, as a drop is, rather than reported as a refusal.
 */
const FEED_NOT_READY = /sample rate not set/;
/** Probing decodes the frames before the first keyframe it joins at, and complains about each. */
const JOINING_NOISE = /^\[h264 @|^\s+Last message repeated/;

/**
 * One live-stream destination: an ffmpeg that copies the encoded meeting
 * (MPEG-TS, joinable at any keyframe) to FLV over RTMP(S). A refusal before
 * anything was sent is final (a wrong key or URL); a destination that drops
 * after being live is reconnected with backoff, as OBS does.
 */
export class StreamRelay {
  readonly status: StreamStatus;
  readonly #options: StreamRelayOptions;
  #child: SupervisedProcess | undefined;
  #everLive = false;
  /** When the destination went away (null while live or never live). */
  #droppedAt: number | null = null;
  readonly #backoff = new Backoff(RETRY);
  #retryTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  /** A child killed because its destination stopped taking data. */
  #stalled: SupervisedProcess | undefined;

  constructor(options: StreamRelayOptions) {
    this.#options = options;
    this.status = { url: redactStreamUrl(options.url), state: 'connecting' };
  }

  /** Starts sending from this point of the input (again, when the capture restarted). */
  restart(): void {
    if (this.#stopping || this.status.state === 'failed' || this.#retryTimer) return;
    const old = this.#child;
    this.#child = undefined; // its exit is no longer ours to report
    void old?.stop();
    this.#spawn();
  }

  write(chunk: Buffer): void {
    const stdin = this.#child?.stdin;
    if (!stdin?.writable) return;
    if (stdin.writableLength > MAX_BACKLOG_BYTES) {
      this.#stalled = this.#child;
      this.#child!.kill(); // reported as a drop by its exit
      return;
    }
    stdin.write(chunk);
  }

  /** The input has ended: lets ffmpeg finish the stream, then ends it. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#retryTimer);
    if (this.status.state !== 'failed') this.status.state = 'ended';
    await this.#child?.stop();
  }

  #spawn(): void {
    const { url, ffmpegPath, caFile, logger } = this.#options;
    let lastError = '';
    // Its input ended, ffmpeg closes the stream properly; one that hangs (a stuck destination) is killed.
    const child = ffmpegProcess(ffmpegPath, streamRelayArgs({ url, caFile }), {
      stopWith: 'endInput',
      graceMs: STOP_GRACE_MS,
      onLine: (line) => {
        if (JOINING_NOISE.test(line)) return;
        const frames = FRAMES.exec(line);
        if (frames) {
          if (Number(frames[1]) > 0 && child === this.#child && !this.#stopping) this.#live();
          return;
        }
        // ffmpeg names the output, key and all, in its final error: keep only what follows.
        const reason = line.startsWith(url) ? line.slice(url.length).replace(/^:\s*/, '') : ((PROTOCOL_ERROR.exec(line) ?? WRITE_ERROR.exec(line))?.[1] ?? '');
        if (reason) lastError = lastError && reason !== lastError ? `${lastError}: ${reason}` : reason;
        logger.debug({ line: line.replaceAll(url, this.status.url) }, 'stream relay');
      },
    });
    this.#child = child;
    child.once('died', (reason, { code, signal }) => {
      if (child !== this.#child || this.#stopping) return;
      this.#child = undefined;
      const stalled = child === this.#stalled ? 'it stopped taking data' : '';
      // Not the exit's own reason: its log would name the URL, key and all.
      this.#ended(stalled || lastError || (signal ? `killed (${signal})` : code === null ? reason : `ffmpeg exited with code ${code}`));
    });
  }

  #live(): void {
    if (this.status.state === 'live') return;
    this.status.state = 'live';
    delete this.status.error;
    this.#everLive = true;
    this.#droppedAt = null;
    this.#backoff.reset();
  }

  #ended(reason: string): void {
    const { url, onProblem, logger } = this.#options;
    const feedNotReady = !this.#everLive && FEED_NOT_READY.test(reason);
    if (!this.#everLive && !feedNotReady) {
      // Refused from the start: retrying a wrong key would only repeat the refusal.
      this.status.state = 'failed';
      this.status.error = describeStreamFailure(url, reason, true);
      onProblem(this.status.error);
      return;
    }
    const now = Date.now();
    this.#droppedAt ??= now;
    if (now - this.#droppedAt > GIVE_UP_AFTER_MS) {
      this.status.state = 'failed';
      this.status.error = `${describeStreamFailure(url, reason, false)}; gave up reconnecting after ${GIVE_UP_AFTER_MS / 60_000} minutes`;
      onProblem(this.status.error);
      return;
    }
    const delay = this.#backoff.next();
    const message = feedNotReady ? `the meeting's audio was not ready to stream yet (${reason}); retrying` : `${describeStreamFailure(url, reason, false)}; reconnecting`;
    // A feed not ready yet is ours to sort out, not news for the meeting.
    if (this.status.error !== message && !feedNotReady) onProblem(message);
    this.status.state = 'connecting';
    this.status.error = message;
    logger.info({ url: this.status.url, delay }, 'stream dropped; reconnecting');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (!this.#stopping) this.#spawn();
    }, delay);
  }
}
