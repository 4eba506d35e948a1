import fs from 'node:fs';
import path from 'node:path';

/**
 * An ffmpeg that ends (SIGTERM: it closes its file cleanly) when the worker
 * that started it does, even a worker killed with -9, where no handler runs.
 * Without it, a dead worker's x11grab ffmpeg keeps its Xvfb up and grows its
 * part file for ever, beside the part the next worker writes.
 *
 * util-linux's setpriv sets the kernel's parent-death signal and then runs
 * ffmpeg in the same process. fluent-ffmpeg spawns the path it is given, so
 * the tie is a script, written into the job's scratch directory.
 */
export function tiedFfmpeg(workDir: string, ffmpegPath: string): string {
  const script = path.join(workDir, 'ffmpeg');
  fs.writeFileSync(script, `#!/bin/sh\nexec setpriv --pdeathsig TERM -- ${singleQuoted(ffmpegPath)} "$@"\n`, { mode: 0o700 });
  return script;
}

function singleQuoted(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
