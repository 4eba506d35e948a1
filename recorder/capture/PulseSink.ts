import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../../common/logger.ts';
import { SupervisedProcess } from '../../common/SupervisedProcess.ts';
import { acceptsConnections, pollUntil } from './processes.ts';

const run = promisify(execFile);
const SINK = 'recording';

/**
 * A private PulseAudio server with one null sink for one recording: Chromium
 * plays the meeting into it, ffmpeg records its monitor. It ends when
 * stopped or with the worker (the parent-death signal), never by itself:
 * with an exit when idle, one went away under a Chromium that took over 30 s
 * to join on a loaded machine, before any client had come.
 */
export class PulseSink extends EventEmitter<{ died: [reason: string] }> {
  /** PULSE_SERVER for Chromium and ffmpeg. */
  readonly server: string;
  /** The source ffmpeg records. */
  readonly monitor = `${SINK}.monitor`;
  readonly #process: SupervisedProcess;

  private constructor(server: string, process: SupervisedProcess) {
    super();
    this.server = server;
    this.#process = process;
    process.once('died', (reason) => this.emit('died', reason));
  }

  static async start(dir: string, logger: Logger): Promise<PulseSink> {
    const runtime = path.join(dir, 'pulse');
    fs.mkdirSync(runtime, { recursive: true, mode: 0o700 });
    const socket = path.join(runtime, 'native');
    const pulse = new SupervisedProcess({
      command: 'pulseaudio',
      args: [
        '--daemonize=no',
        '--exit-idle-time=-1',
        '-n',
        '--use-pid-file=no',
        '--system=no',
        '--log-target=stderr',
        '--log-level=error',
        '-L',
        `module-native-protocol-unix socket=${socket} auth-anonymous=1`,
        '-L',
        `module-null-sink sink_name=${SINK} rate=48000`,
      ],
      installHint: 'apt install pulseaudio',
      env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: runtime, XDG_CONFIG_HOME: runtime },
    });
    let failure: string | undefined;
    pulse.once('died', (reason) => (failure = reason));
    const server = `unix:${socket}`;
    try {
      await pollUntil(
        async () => {
          if (failure) throw new Error(`pulseaudio ${failure}`);
          if (!fs.existsSync(socket)) return false;
          // Bounded: a server that accepts but does not answer would hold this check, and the start, for ever.
          return run('pactl', ['--server', server, 'info'], { timeout: 2000 }).then(
            () => true,
            () => false,
          );
        },
        10_000,
        () => `pulseaudio did not start within 10 s: ${pulse.tail.trim()}`,
        50,
      );
    } catch (error) {
      await pulse.stop();
      throw error;
    }
    logger.debug({ server }, 'audio sink ready');
    return new PulseSink(server, pulse);
  }

  /** Whether the sound server still takes clients (its exit can be reported late on a loaded machine). */
  responds(): Promise<boolean> {
    return acceptsConnections(this.server.slice('unix:'.length));
  }

  async stop(): Promise<void> {
    await this.#process.stop();
  }
}
