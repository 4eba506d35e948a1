import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../../common/logger.ts';
import type { StreamStatus } from '../../protocol/protocol.ts';
import type { ProblemReporter } from '../RecordingSource.ts';
import { StreamRelay } from './StreamRelay.ts';

export interface LiveStreamsOptions {
  urls: string[];
  /** Scratch space of the job, for the socket the encoder writes to. */
  workDir: string;
  ffmpegPath: string;
  /** Trusted CAs for rtmps:// destinations (default: the system's). */
  caFile: string | undefined;
  onProblem: ProblemReporter;
  logger: Logger;
}

/**
 * The live-stream side of a recording: the encoder writes MPEG-TS once to a
 * local socket, and each destination gets its own copying relay, so one
 * that refuses, stalls or drops is handled (reconnected) without touching
 * the encoder, the file or the other destinations.
 */
export class LiveStreams {
  readonly #relays: StreamRelay[];
  readonly #server: net.Server;
  readonly #socketPath: string;
  #input: net.Socket | undefined;

  private constructor(options: LiveStreamsOptions, server: net.Server, socketPath: string) {
    const { ffmpegPath, caFile, onProblem, logger } = options;
    this.#relays = options.urls.map((url) => new StreamRelay({ url, ffmpegPath, caFile, onProblem, logger }));
    this.#server = server;
    this.#socketPath = socketPath;
    server.on('connection', (socket) => this.#accept(socket));
  }

  static async open(options: LiveStreamsOptions): Promise<LiveStreams> {
    const socketPath = path.join(options.workDir, 'live.sock');
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    server.on('error', (error) => options.logger.warn({ err: error }, 'live stream socket'));
    return new LiveStreams(options, server, socketPath);
  }

  /** Where the encoder sends the stream (an ffmpeg URL). */
  get input(): string {
    return `unix:${this.#socketPath}`;
  }

  status(): StreamStatus[] {
    return this.#relays.map((relay) => ({ ...relay.status }));
  }

  /** After the encoder has finished: every destination gets the end of the stream. */
  async stop(): Promise<void> {
    await Promise.all(this.#relays.map((relay) => relay.stop()));
    this.#input?.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  /** A (re)started encoder: the relays start over from its stream. */
  #accept(socket: net.Socket): void {
    this.#input?.destroy();
    this.#input = socket;
    socket.on('error', () => undefined); // an encoder killed mid-write
    for (const relay of this.#relays) relay.restart();
    socket.on('data', (chunk: Buffer) => {
      for (const relay of this.#relays) relay.write(chunk);
    });
  }
}
