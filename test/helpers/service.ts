import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestHost } from './hosts.ts';
import { waitFor } from './wait.ts';

/** The repository: where `npm start` and the entry points run from. */
export const REPO = fileURLToPath(new URL('../..', import.meta.url));

interface LogRecord {
  level?: number;
  msg?: string;
  service?: string;
}

/**
 * One of the product's processes, started as an operator would (an entry
 * point with environment variables) on a test host. Its pino log is read
 * line by line: warnings and errors show in the test output, and a test can
 * wait for a message.
 */
export class ServiceProcess {
  readonly name: string;
  readonly #child: ChildProcess;
  readonly #messages: string[] = [];
  #tail = '';

  private constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.#child = child;
    const onLine = (line: string) => {
      this.#tail = `${this.#tail}${line}\n`.slice(-6000);
      let record: LogRecord = { level: 50 }; // a line that is not a log record is shown
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {}
      if (record.msg) this.#messages.push(record.msg);
      if ((record.level ?? 0) >= 40) process.stdout.write(`[${name}] ${line}\n`);
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', onLine);
  }

  /**
   * `command` on `host` (undefined: this machine's own network) in the repository, with the
   * machine's environment and `env`, in a process group of its own (npm's children are stopped with it).
   */
  static start(host: TestHost | undefined, name: string, command: string, args: string[], env: Record<string, string>): ServiceProcess {
    const options = {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    } satisfies SpawnOptions;
    const child = host ? host.spawn(command, args, options) : spawn(command, args, options);
    return new ServiceProcess(name, child);
  }

  /** The process's id (for /proc/<pid>: its memory and CPU time). */
  get pid(): number {
    if (this.#child.pid === undefined) throw new Error(`${this.name} did not start`);
    return this.#child.pid;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Waits until the log says `message` (the process must not exit meanwhile). */
  async waitForLog(message: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${this.name} to log "${message}"`,
      () => {
        if (this.exited) throw new Error(`${this.name} exited: ${this.#tail}`);
        return this.#messages.includes(message);
      },
      timeoutMs,
      100,
    );
  }

  /**
   * SIGINT to its process group (a clean shutdown at once: SIGTERM would make
   * a bridge drain, waiting for its rooms to end), SIGKILL if it takes longer
   * than `graceMs`.
   */
  async stop(graceMs = 20_000): Promise<void> {
    const pid = this.#child.pid;
    if (pid === undefined || this.exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    process.kill(-pid, 'SIGINT');
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Sends `signal` to the process itself (not its group). */
  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  /** Waits for the process to exit on its own; its exit code (null: killed by a signal). */
  async exit(timeoutMs: number): Promise<number | null> {
    await waitFor(`${this.name} to exit`, () => this.exited, timeoutMs, 50);
    return this.#child.exitCode;
  }
}
