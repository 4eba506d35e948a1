import type { Logger } from '../common/logger.ts';
import type { SupervisedProcess } from '../common/SupervisedProcess.ts';
import { SIGNALING_PATH } from '../protocol/protocol.ts';
import { FRAME_SAMPLES, MIX_RATE } from '../media/codecs.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { PortPool } from '../media/PortPool.ts';
import { RoomAudio } from '../media/RoomAudio.ts';
import type { RecordingJob } from '../queue/recordingJob.ts';
import { CaptureParts } from './CaptureParts.ts';
import type { RecorderConfig } from './config.ts';
import { pcmEncoderArgs } from './ffmpegArgs.ts';
import { ffmpegProcess } from './ffmpegProcess.ts';
import type { ProblemReporter, RecordingSource, SourceOutputs, SourceStatus } from './RecordingSource.ts';

export interface AudioRecordingOptions {
  config: RecorderConfig;
  job: RecordingJob;
  outputs: SourceOutputs;
  /** Part numbers continue after an earlier attempt's. */
  firstPart: number;
  onProblem: ProblemReporter;
  logger: Logger;
}

/** How long a stopping ffmpeg may take to finish its file. */
const STOP_GRACE_MS = 15_000;

/**
 * The room's mixed audio, without a browser (rooms of phone callers): a
 * hidden recorder peer receives every speaker over one plain RTP transport
 * (the SIP gateway's RoomAudio), a steady 20 ms clock mixes them, and ffmpeg
 * encodes the mix from its stdin. Silence is written when nobody speaks, so
 * the file lasts as long as the recording. A crashed ffmpeg starts a new part.
 */
export class AudioRecording implements RecordingSource {
  readonly #options: AudioRecordingOptions;
  readonly #logger: Logger;
  readonly #parts: CaptureParts;
  readonly #clock: MediaClock;
  #audio: RoomAudio | undefined;
  #stopClock: (() => void) | undefined;
  #encoder: PcmEncoder | undefined;
  #stopping = false;
  #frames = 0;
  #droppedFrames = 0;

  constructor(options: AudioRecordingOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#parts = new CaptureParts(options.firstPart, options.onProblem);
    this.#clock = new MediaClock((error) => this.#logger.error({ err: error }, 'audio mix tick failed'));
  }

  async start(): Promise<number> {
    const { config, job, outputs } = this.#options;
    const { address, portMin, portMax } = config.media;
    if (!outputs.partPath) throw new Error('an audio-only recording needs a file');
    this.#audio = await RoomAudio.open({
      room: job.room,
      bridgeUrl: config.bridgeUrl.replace(/^http/, 'ws') + SIGNALING_PATH,
      serviceSecret: config.serviceSecret,
      mediaAddress: address,
      // One pair per recording, bound to the address declared to the bridge; pairs held by other processes are skipped.
      ports: new PortPool(address ?? '0.0.0.0', portMin, portMax),
      logger: this.#logger,
      displayName: 'Recorder',
      kind: 'recorder',
    });
    this.#audio.once('closed', () => {
      if (!this.#stopping) this.#logger.info('the room audio closed (room closed or bridge gone)');
    });
    this.#startEncoder();
    this.#stopClock = this.#clock.add(() => this.#tick());
    return Date.now(); // the first tick's frame is the file's first
  }

  status(): SourceStatus {
    return {
      frames: this.#frames,
      // Ticks the process was too starved to run are missing from the file as well.
      droppedFrames: this.#droppedFrames + this.#clock.skipped,
      streams: [],
      parts: this.#parts.list(),
    };
  }

  async ended(): Promise<string | null> {
    return this.#audio?.closed && !this.#stopping ? 'roomClosed' : null;
  }

  /** Ends cleanly: ffmpeg finishes the file from what it was given, then the room is left. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#stopClock?.();
    await this.#encoder?.stop();
    this.#parts.end('stopped');
    this.#audio?.close(); // also releases its ports
  }

  /** One 20 ms frame: every speaker decoded and summed, or silence. */
  #tick(): void {
    const mixer = this.#audio!.mixer;
    mixer.mix(); // even with no encoder (restarting), so the jitter buffers keep pace
    const encoder = this.#encoder;
    if (!encoder) return;
    if (encoder.backedUp) {
      this.#droppedFrames += 1;
      return;
    }
    // A new array per frame: the stream keeps the buffer until ffmpeg has read it.
    const frame = mixer.mixMinus(undefined, new Int16Array(FRAME_SAMPLES));
    encoder.write(Buffer.from(frame.buffer));
    this.#frames += 1;
  }

  #startEncoder(): void {
    const { config, job, outputs } = this.#options;
    const file = outputs.partPath!(this.#parts.number);
    const encoder = new PcmEncoder(config.ffmpegPath, file, job.outputs.file?.format === 'mp3' ? 'mp3' : 'm4a', this.#logger);
    encoder.onDeath((reason) => void this.#onEncoderDeath(encoder, reason));
    this.#parts.begin(file);
    this.#encoder = encoder;
  }

  async #onEncoderDeath(encoder: PcmEncoder, reason: string): Promise<void> {
    if (this.#stopping || encoder !== this.#encoder) return;
    this.#encoder = undefined;
    if (!this.#parts.captureDied(reason)) return;
    // A pause, so an ffmpeg that dies at once does not spin through the restarts.
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (!this.#stopping) this.#startEncoder();
  }
}

/** About 2 s of PCM may wait for a slow ffmpeg before frames are dropped. */
const INPUT_BUFFER_BYTES = 32 * 1024;

/** One ffmpeg encoding raw PCM (s16le, mono) from its stdin into a file; its end finishes the file. */
class PcmEncoder {
  readonly #ffmpeg: SupervisedProcess;

  constructor(ffmpegPath: string, file: string, format: 'm4a' | 'mp3', logger: Logger) {
    this.#ffmpeg = ffmpegProcess(ffmpegPath, pcmEncoderArgs({ inputRate: MIX_RATE, file, format }), {
      stopWith: 'endInput',
      graceMs: STOP_GRACE_MS,
      onLine: (line) => logger.debug({ line }, 'ffmpeg'),
    });
    logger.debug({ pid: this.#ffmpeg.pid, file }, 'audio capture started');
  }

  /** ffmpeg ended without being asked to. */
  onDeath(listener: (reason: string) => void): void {
    this.#ffmpeg.once('died', (reason) => listener(`ffmpeg ${reason}`));
  }

  /** True while ffmpeg is not keeping up (or not reading): the frame should be skipped. */
  get backedUp(): boolean {
    return (this.#ffmpeg.stdin?.writableLength ?? 0) > INPUT_BUFFER_BYTES;
  }

  write(pcm: Buffer): void {
    if (this.#ffmpeg.stdin?.writable) this.#ffmpeg.stdin.write(pcm);
  }

  /** Ends ffmpeg's input: it encodes what is left, finishes the file and exits. */
  async stop(): Promise<void> {
    await this.#ffmpeg.stop();
  }
}
