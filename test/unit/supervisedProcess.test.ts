// The one supervised child process (common/SupervisedProcess.ts), with tiny
// shell commands for children: what a death reports, how a stop asks and then
// kills, and that a child dies with a parent killed with -9.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SupervisedProcess, type SupervisedProcessOptions } from '../../common/SupervisedProcess.ts';

const sh = (script: string, options: Partial<SupervisedProcessOptions> = {}) => new SupervisedProcess({ command: 'sh', args: ['-c', script], ...options });

/** Resolves once `process` has logged `line` (a child ready for what the test does next). */
function logged(line: string, options: Partial<SupervisedProcessOptions> = {}): { options: Partial<SupervisedProcessOptions>; ready: Promise<void> } {
  let ready!: () => void;
  const promise = new Promise<void>((resolve) => (ready = resolve));
  return { options: { ...options, onLine: (text) => text === line && ready() }, ready: promise };
}

/** Whether a PID is a live process (a zombie waiting for its reaper is not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('SupervisedProcess', () => {
  it('reports an unexpected exit once, with the code and the last lines of its log', async () => {
    const child = sh('echo starting >&2; echo "no such file: x.mp4" >&2; exit 3');
    const deaths: string[] = [];
    child.on('died', (reason) => deaths.push(reason));
    const exit = await child.exited;
    expect(exit).toMatchObject({ code: 3, signal: null });
    expect(deaths).toEqual(['exited with code 3: starting | no such file: x.mp4']);
    expect(child.running).toBe(false);
  });

  it('reports a process killed from outside (its log is no reason then)', async () => {
    const { options, ready } = logged('up');
    const child = sh('echo up >&2; exec sleep 30', options);
    await ready;
    const died = once(child, 'died');
    process.kill(child.pid!, 'SIGKILL');
    expect((await died)[0]).toBe('killed by SIGKILL');
  });

  it('reports a command that is not installed, saying how to install it', async () => {
    const child = new SupervisedProcess({ command: 'no-such-command-telebridge', args: [], installHint: 'apt install it' });
    const [reason] = await once(child, 'died');
    expect(reason).toBe('cannot run no-such-command-telebridge: no-such-command-telebridge is not installed (apt install it)');
  });

  it('keeps a bounded tail of its log, split into lines at \\n and \\r', async () => {
    const lines: string[] = [];
    const child = sh('i=0; while [ $i -lt 300 ]; do printf "line %03d\\r" $i >&2; i=$((i+1)); done; echo last >&2', { onLine: (line) => lines.push(line) });
    await child.exited;
    expect(lines).toHaveLength(301);
    expect(lines.at(-2)).toBe('line 299');
    expect(child.tail.length).toBeLessThanOrEqual(2000);
    expect(child.tail.endsWith('line 299\rlast\n')).toBe(true);
  });

  it('stops gracefully: asked with SIGTERM, no death reported', async () => {
    const child = sh('exec sleep 30');
    const deaths: string[] = [];
    child.on('died', (reason) => deaths.push(reason));
    const exit = await child.stop();
    expect(exit.signal).toBe('SIGTERM');
    expect(deaths).toEqual([]);
  });

  it('stops by ending stdin, or by typing q (ffmpeg)', async () => {
    const cat = new SupervisedProcess({ command: 'cat', args: [], stdin: 'pipe', stopWith: 'endInput', graceMs: 2000 });
    expect(await cat.stop()).toMatchObject({ code: 0, signal: null });
    const { options, ready } = logged('got q', { stdin: 'pipe', stopWith: 'q', graceMs: 2000 });
    const key = sh('x=$(head -c 1); echo "got $x" >&2', options);
    expect(await key.stop()).toMatchObject({ code: 0, signal: null });
    await ready;
  });

  it('kills with SIGKILL a process that has not ended within the grace period', async () => {
    const { options, ready } = logged('ignoring TERM', { graceMs: 200 });
    const child = sh('trap "" TERM; echo "ignoring TERM" >&2; exec sleep 30', options);
    await ready;
    const started = Date.now();
    const exit = await child.stop();
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('reports a kill() it was not asked to stop for as a death (a stuck process killed on purpose)', async () => {
    const child = sh('exec sleep 30');
    const died = once(child, 'died');
    child.kill();
    expect((await died)[0]).toBe('killed by SIGKILL');
  });

  it('dies with its parent, even one killed with -9', async () => {
    // A Node parent of its own, which starts a child and says its PID.
    const module = new URL('../../common/SupervisedProcess.ts', import.meta.url).href;
    const parent = spawn(
      process.execPath,
      ['--input-type=module', '-e', `import { SupervisedProcess } from '${module}'; const child = new SupervisedProcess({ command: 'sleep', args: ['30'] }); console.log(child.pid); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [chunk] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(chunk.toString().trim());
      expect(pid).toBeGreaterThan(0);
      // setpriv has exec'd sleep (same PID) once its name shows.
      await until('sleep to run', () => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
      parent.kill('SIGKILL');
      await until('the orphan to die', () => !alive(pid));
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
