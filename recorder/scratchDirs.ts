// Each job works in a scratch directory (Chromium profiles, the pulseaudio
// socket) named after the worker process that owns it,
// so a worker starting on the same host can remove those of workers that died
// without cleaning up (killed with -9, out of memory).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isRunning } from './capture/processes.ts';

const OWNED = /^recorder-(\d+)-/;

export function makeScratchDir(jobId: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `recorder-${process.pid}-${jobId}-`));
}

/**
 * Removes the scratch directories whose owner process is gone; returns how
 * many. Best effort: one it may not remove (another user's) is left, and the
 * worker starts regardless.
 */
export async function removeDeadWorkersScratch(): Promise<number> {
  const names = await fs.readdir(os.tmpdir()).catch(() => []);
  let removed = 0;
  for (const name of names) {
    const owner = OWNED.exec(name)?.[1];
    if (!owner || isRunning(Number(owner))) continue;
    await fs.rm(path.join(os.tmpdir(), name), { recursive: true, force: true }).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
