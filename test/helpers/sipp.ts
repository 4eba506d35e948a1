import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestHost } from './hosts.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

const execFileAsync = promisify(execFile);

export interface SippOptions {
  /** A built-in scenario (`uac`, `uas`, ...) or the path of an XML scenario file. */
  scenario: string;
  /** `host:port` to send to; omit for scenarios that only answer. */
  remote?: string;
  /** Local SIP port (listening port for answering scenarios). */
  localPort: number;
  localIp?: string;
  transport?: 'udp' | 'tcp';
  /** Stop after this many calls (`-m`). */
  calls?: number;
  /** Calls per second (`-r`). */
  rate?: number;
  /** Fail if not done by then (`-timeout ... -timeout_error`). */
  timeoutSeconds?: number;
  /** Values for `[key]` placeholders in XML scenarios (`-key name value`). */
  keys?: Record<string, string>;
  args?: string[];
  /** Run on this test host (default: this machine's own network). */
  host?: TestHost;
}

export interface SippResult {
  /** 0: every call succeeded; 1: some failed; 97/99: ended without calls; other: sipp error. */
  code: number | null;
  successful: number;
  failed: number;
  stdout: string;
  stderr: string;
}

/** A running sipp; `stop()` ends it (only this process, by its pid). */
export interface SippProcess {
  readonly pid: number;
  readonly done: Promise<SippResult>;
  stop(): Promise<SippResult>;
}

function cumulative(stdout: string, counter: string): number {
  const matches = [...stdout.matchAll(new RegExp(`${counter}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`, 'g'))];
  return matches.length > 0 ? Number(matches[matches.length - 1][1]) : 0;
}

export function sippArgs(opts: SippOptions): string[] {
  const args = opts.scenario.endsWith('.xml') ? ['-sf', opts.scenario] : ['-sn', opts.scenario];
  if (opts.remote) args.push(opts.remote);
  args.push('-i', opts.localIp ?? '127.0.0.1', '-p', String(opts.localPort), '-t', opts.transport === 'tcp' ? 't1' : 'u1', '-nostdin');
  if (opts.calls !== undefined) args.push('-m', String(opts.calls));
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.timeoutSeconds !== undefined) args.push('-timeout', `${opts.timeoutSeconds}s`, '-timeout_error');
  for (const [name, value] of Object.entries(opts.keys ?? {})) args.push('-key', name, value);
  return [...args, ...(opts.args ?? [])];
}

/** Starts sipp in a scratch directory (its log files land there and are removed afterwards). */
export function startSipp(opts: SippOptions): SippProcess {
  const cwd = mkdtempSync(path.join(tmpdir(), 'sipp-'));
  const spawnOptions = { cwd, stdio: ['ignore', 'pipe', 'pipe'] } satisfies SpawnOptions;
  const child = opts.host ? opts.host.spawn('sipp', sippArgs(opts), spawnOptions) : spawn('sipp', sippArgs(opts), spawnOptions);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<SippResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      rmSync(cwd, { recursive: true, force: true });
      resolve({ code, successful: cumulative(stdout, 'Successful call'), failed: cumulative(stdout, 'Failed call'), stdout, stderr });
    });
  });
  if (child.pid === undefined) throw new Error('sipp did not start');
  const pid = child.pid;
  return {
    pid,
    done,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
      return done;
    },
  };
}

export function runSipp(opts: SippOptions): Promise<SippResult> {
  return startSipp(opts).done;
}

/**
 * Whether a socket on this host is bound to `port` (UDP) or listens on it (TCP), as `ss` lists them.
 * Asking the kernel binds nothing: a probe socket bound to the port could take it from sipp.
 */
export async function portBound(port: number, transport: 'udp' | 'tcp' = 'udp'): Promise<boolean> {
  const { stdout } = await execFileAsync('ss', ['-H', transport === 'udp' ? '-lun' : '-ltn', `sport = :${port}`]);
  return stdout.trim() !== '';
}

/**
 * Starts a sipp that answers (a callee, registrar or trunk) and resolves once its SIP port is
 * bound. A request sent before that is lost on the embedded engine (it retransmits) but fails at
 * once on drachtio-server, whose sofia stack sees the ICMP port-unreachable and answers 503.
 */
export async function startListeningSipp(opts: SippOptions, timeoutMs = 10_000): Promise<SippProcess> {
  const sipp = startSipp(opts);
  let exited = false;
  const settle = (): void => void (exited = true);
  sipp.done.then(settle, settle);
  const transport = opts.transport ?? 'udp';
  try {
    await waitFor(`sipp bound to ${transport} port ${opts.localPort}`, async () => exited || (await portBound(opts.localPort, transport)), timeoutMs);
  } catch (error) {
    await sipp.stop();
    throw error;
  }
  if (exited) {
    const result = await sipp.done;
    throw new Error(`sipp exited (${result.code}) before binding port ${opts.localPort}: ${result.stderr}`);
  }
  return sipp;
}

/** sipp answering as a dial-out trunk on `port`, for `calls` calls of `scenario` (an XML file); bound before anyone dials. */
export async function startSippTrunk(port: number, scenario: string, { calls = 1, timeoutSeconds = 30 } = {}): Promise<SippProcess> {
  return startListeningSipp({ scenario, localPort: port, calls, timeoutSeconds, args: ['-mp', String(await freePort())] });
}
