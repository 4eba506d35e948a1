import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.ts';
import { SupervisedProcess } from '../../common/SupervisedProcess.ts';
import { acceptsConnections } from './processes.ts';

/**
 * An Xvfb screen of its own for one recording, so several run side by side.
 * Xvfb picks a free display number itself (-displayfd). With -terminate it
 * exits once its last client (Chromium, ffmpeg) is gone, and it dies with the
 * worker, so a killed worker leaves no display behind.
 */
export class VirtualDisplay extends EventEmitter<{ died: [reason: string] }> {
  readonly name: string;
  readonly #process: SupervisedProcess;

  private constructor(name: string, process: SupervisedProcess) {
    super();
    this.name = name;
    this.#process = process;
    process.once('died', (reason) => this.emit('died', reason));
  }

  static async start(width: number, height: number, logger: Logger): Promise<VirtualDisplay> {
    const xvfb = new SupervisedProcess({
      command: 'Xvfb',
      args: ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-terminate', '-nocursor'],
      installHint: 'apt install xvfb',
      extraPipes: 1,
    });
    const number = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`Xvfb did not start within 10 s: ${xvfb.tail.trim()}`)), 10_000);
      xvfb.pipe(3)?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
      xvfb.once('died', (reason) => {
        clearTimeout(timer);
        reject(new Error(`Xvfb ${reason}`));
      });
    }).catch(async (error: unknown) => {
      await xvfb.stop();
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
    await this.#process.stop();
  }
}
