import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/** A real redis-server of the test's own, on a free port, persisting to an append-only file. */
export class TestRedis {
  readonly port: number;
  readonly url: string;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  static async start(): Promise<TestRedis> {
    const redis = new TestRedis(await freePort(), fs.mkdtempSync(path.join(os.tmpdir(), 'redis-')));
    await redis.#launch();
    return redis;
  }

  /** Stops the server the hard way (as a crash would); what was written stays in its append-only file. */
  async kill(): Promise<void> {
    const child = this.#process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.#launch();
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }

  async #launch(): Promise<void> {
    this.#process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.#dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''],
      { stdio: 'ignore' },
    );
    await waitFor('redis-server up', () => ping(this.port), 10_000, 100);
  }
}

/** One PING over a fresh connection: true on PONG, false on anything else (refused, silence). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}
