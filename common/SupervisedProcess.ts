// One child process the way every long-lived helper of ours is run (Xvfb,
// pulseaudio, ffmpeg, redis-server): its log's last lines kept for the error
// that says why it ended, ONE 'died' event when it ends without being asked
// to, a stop that asks first and kills after a grace period, and a life tied
// to ours, so a Node process killed with -9 (where no handler runs) leaves no
// orphan behind writing files or holding a display.
//
// node:child_process rather than execa: execa is built around one command's
// result (a promise that rejects on a non-zero exit, output buffered whole);
// what is needed here is the opposite (a process that should run until told
// otherwise, a bounded log, a stop by signal, stdin's end or ffmpeg's 'q'), and
// neither has a parent-death signal, so execa would add a dependency and still
// leave every part of this to write.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface SupervisedProcessOptions {
  command: string;
  args: readonly string[];
  /** What messages call it (default: the command's file name). */
  name?: string;
  /** Said when the command is missing, e.g. 'apt install xvfb'. */
  installHint?: string;
  env?: NodeJS.ProcessEnv;
  /** Default 'ignore'. */
  stdin?: 'pipe' | 'ignore';
  /** 'log': read like stderr, into the tail and `onLine` (redis-server logs to stdout). Default 'ignore'. */
  stdout?: 'pipe' | 'ignore' | 'log';
  /** Pipes on fd 3 and up (Xvfb's -displayfd), read with `pipe(fd)`. */
  extraPipes?: number;
  /** Each line of its log (stderr, and stdout when 'log'); ffmpeg's progress lines end with \r and count. */
  onLine?: (line: string) => void;
  /** How `stop()` asks it to end: a signal, the end of its stdin, or ffmpeg's 'q' key. Default SIGTERM. */
  stopWith?: NodeJS.Signals | 'endInput' | 'q';
  /** How long `stop()` waits before SIGKILL. Default 5 s. */
  graceMs?: number;
  /**
   * What the kernel sends it when this process dies (default SIGKILL). SIGTERM
   * where ending cleanly matters: ffmpeg then closes its file, redis saves.
   */
  parentDeathSignal?: NodeJS.Signals;
  /** A process group of its own: Ctrl-C in the terminal does not reach it. */
  detached?: boolean;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** 'exited with code 1: <its last log lines>', 'killed by SIGKILL', 'cannot run …'. */
  reason: string;
}

const TAIL_CHARS = 2000;
/** After the exit, how long to wait for the rest of its log (a grandchild may hold the pipe open for ever). */
const LOG_SETTLE_MS = 250;

export class SupervisedProcess extends EventEmitter<{ died: [reason: string, exit: ProcessExit] }> {
  readonly name: string;
  /** Resolves once it has ended (asked to or not), with why. */
  readonly exited: Promise<ProcessExit>;
  readonly #child: ChildProcess | undefined;
  readonly #options: SupervisedProcessOptions;
  #tail = '';
  #stopping = false;
  #ended = false;
  #resolveExit!: (exit: ProcessExit) => void;

  constructor(options: SupervisedProcessOptions) {
    super();
    this.#options = options;
    this.name = options.name ?? path.basename(options.command);
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    // Looked up here only to say clearly that it is missing: through setpriv, a missing command
    // would be an exit code and a line in the log, not an error.
    const installed = findExecutable(options.command, (options.env ?? process.env).PATH) !== undefined;
    // util-linux's setpriv sets the parent-death signal (prctl PR_SET_PDEATHSIG) and then
    // execs the command (looked up on PATH) in the same process: same PID, same argv for ps, no shell between.
    const setpriv = findExecutable('setpriv', process.env.PATH);
    if (!installed || !setpriv) {
      const missing = installed ? 'setpriv (util-linux) is not installed' : `${options.command} is not installed${options.installHint ? ` (${options.installHint})` : ''}`;
      // Reported like any other end, after the caller has had the chance to listen.
      process.nextTick(() => this.#end({ code: null, signal: null, reason: `cannot run ${this.name}: ${missing}` }));
      return;
    }
    const logOut = options.stdout === 'log';
    const stdout: 'pipe' | 'ignore' = logOut || options.stdout === 'pipe' ? 'pipe' : 'ignore';
    const child: ChildProcess = spawn(setpriv, ['--pdeathsig', options.parentDeathSignal ?? 'SIGKILL', '--', options.command, ...options.args], {
      stdio: [options.stdin ?? 'ignore', stdout, 'pipe', ...Array<'pipe'>(options.extraPipes ?? 0).fill('pipe')],
      env: options.env,
      detached: options.detached,
    });
    this.#child = child;
    child.stdin?.on('error', () => undefined); // writes racing its exit
    const logs = [child.stderr!, ...(logOut ? [child.stdout!] : [])].map((stream) => this.#readLog(stream));
    child.once('error', (error) => this.#end({ code: null, signal: null, reason: `cannot run ${this.name}: ${error.message}` }));
    child.once('exit', (code, signal) => {
      const settle = new Promise((resolve) => setTimeout(resolve, LOG_SETTLE_MS).unref());
      void Promise.race([Promise.all(logs), settle]).then(() => this.#end({ code, signal, reason: describeExit(code, signal, this.#tail) }));
    });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether the process is still there (false from the moment it exits, before `exited` resolves). */
  get running(): boolean {
    const child = this.#child;
    return !!child && !this.#ended && child.exitCode === null && child.signalCode === null;
  }

  /** The last of its log (about 2,000 characters). */
  get tail(): string {
    return this.#tail;
  }

  get stdin(): Writable | null {
    return this.#child?.stdin ?? null;
  }

  get stdout(): Readable | null {
    return this.#options.stdout === 'pipe' ? (this.#child?.stdout ?? null) : null;
  }

  /** One of the extra pipes (fd 3 and up); none when the command could not be run. */
  pipe(fd: number): Readable | undefined {
    return (this.#child?.stdio[fd] as Readable | null | undefined) ?? undefined;
  }

  /** Sends a signal without stopping: its end is reported as a death (a stuck process killed on purpose). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.#child!.kill(signal);
  }

  /**
   * Ends it without a 'died': asks it (see `stopWith`), and kills it if it has
   * not ended within the grace period. `beforeAsking` runs first, while its end
   * is already no death (ffmpeg catching up with the moment of the stop).
   */
  async stop(beforeAsking?: () => Promise<unknown>): Promise<ProcessExit> {
    this.#stopping = true;
    if (beforeAsking && this.running) await beforeAsking();
    const child = this.#child;
    if (child && this.running) {
      const how = this.#options.stopWith ?? 'SIGTERM';
      if (how === 'endInput') child.stdin?.end();
      else if (how === 'q') child.stdin?.write('q');
      else child.kill(how);
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#options.graceMs ?? 5000);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }

  /** Keeps the tail and hands out whole lines; resolves when the stream has ended. */
  #readLog(stream: Readable): Promise<void> {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {
      this.#tail = (this.#tail + text).slice(-TAIL_CHARS);
      const lines = (partial + text).split(/[\r\n]/);
      partial = lines.pop()!;
      for (const line of lines) if (line.trim()) this.#options.onLine?.(line);
    });
    return new Promise((resolve) => {
      stream.once('close', () => {
        if (partial.trim()) this.#options.onLine?.(partial);
        resolve();
      });
    });
  }

  #end(exit: ProcessExit): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolveExit(exit);
    if (!this.#stopping) this.emit('died', exit.reason, exit);
  }
}

/** Whether a command can be run (an absolute path, or found on PATH). */
export function isInstalled(command: string): boolean {
  return findExecutable(command, process.env.PATH) !== undefined;
}

function findExecutable(command: string, searchPath: string | undefined): string | undefined {
  const candidates = command.includes('/') ? [command] : (searchPath ?? '').split(':').filter(Boolean).map((dir) => path.join(dir, command));
  return candidates.find((candidate) => {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return fs.statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
}

/** A signal says nothing of why; a process that exits with an error code usually said it last. */
function describeExit(code: number | null, signal: NodeJS.Signals | null, log: string): string {
  if (signal) return `killed by ${signal}`;
  const said = lastLines(log);
  return `exited with code ${code}${said ? `: ${said}` : ''}`;
}

/** The last few lines of a log, on one line. */
export function lastLines(log: string, count = 3): string {
  return log
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter(Boolean)
    .slice(-count)
    .join(' | ');
}
