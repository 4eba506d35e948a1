import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Logger } from '../../common/logger.ts';
import { acceptsConnections, terminate } from './processes.ts';

/**
 * An Xvfb screen of its own for one recording, so several run side by side.
 * Xvfb picks a free display number itself (-displayfd). With -terminate it
 * exits once its last client (Chromium, ffmpeg) is gone, so a killed worker
 * leaves no display behind.
 */
export class VirtualDisplay extends EventEmitter<{ died: [reason: string] }> {
  readonly name: string;
  readonly #process: ChildProcess;
  #stopping = false;

  private constructor(name: string, process: ChildProcess) {
    super();
    this.name = name;
    this.#process = process;
    process.once('exit', (code, signal) => {
      if (!this.#stopping) this.emit('died', signal ? `killed by ${signal}` : `exited with code ${code}`);
    });
  }

  static async start(width: number, height: number, logger: Logger): Promise<VirtualDisplay> {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-terminate', '-nocursor'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let log = '';
    xvfb.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000)));
    const number = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s: ${log.trim()}`)), 10_000);
      (xvfb.stdio[3] as Readable).on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
      xvfb.once('error', (error) => reject(new Error(`cannot run Xvfb (apt install xvfb): ${error.message}`)));
      xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}): ${log.trim()}`)));
    }).catch(async (error: unknown) => {
      await terminate(xvfb);
      throw error;
    });
    logger.debug({ display: `:${number}` }, 'virtual display ready');
    return new VirtualDisplay(`:${number}`, xvfb);
  }

  /** Whether the X server still takes clients (its exit can be reported late on a loaded machine). */
  responds(): Promise<boolean> {
    return acceptsConnections(`/tmp/.X11-unix/X${this.name.slice(1)}`);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await terminate(this.#process);
  }
}
