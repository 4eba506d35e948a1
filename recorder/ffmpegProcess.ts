import { SupervisedProcess, type SupervisedProcessOptions } from '../common/SupervisedProcess.ts';

/**
 * An ffmpeg of the recorder's: stdin open (its input, or the 'q' that stops
 * it), and SIGTERM when the worker dies, even killed with -9, so it closes its
 * file cleanly instead of growing it beside the part the next worker writes.
 */
export function ffmpegProcess(
  ffmpegPath: string,
  args: string[],
  options: Pick<SupervisedProcessOptions, 'stopWith' | 'graceMs' | 'onLine'>,
): SupervisedProcess {
  return new SupervisedProcess({
    name: 'ffmpeg',
    command: ffmpegPath,
    args,
    installHint: 'apt install ffmpeg',
    stdin: 'pipe',
    parentDeathSignal: 'SIGTERM',
    ...options,
  });
}
