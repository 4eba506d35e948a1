import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RecordingPart, RecordingResult } from '../queue/recordingJob.ts';
import { joinPartsArgs } from './ffmpegArgs.ts';
import { ffmpegProcess } from './ffmpegProcess.ts';

const run = promisify(execFile);

/**
 * Joins a recording's parts into one file without re-encoding (ffmpeg's
 * concat demuxer), written for playback from the start (faststart). Parts
 * with nothing playable are left out, and said so in what it returns. The
 * parts are removed only once the joined file exists; on failure they stay
 * and the error says so.
 */
export async function joinParts(ffmpegPath: string, parts: RecordingPart[], target: string): Promise<string[]> {
  const present: string[] = [];
  const problems: string[] = [];
  for (const [index, part] of parts.entries()) {
    if (await isPlayable(ffmpegPath, part.path)) present.push(concatEntry(part));
    else problems.push(`part ${index + 1} held nothing playable (${part.endedBy || 'its capture never got going'})`);
  }
  if (present.length === 0) throw new Error('nothing playable was captured');
  const list = `${target}.parts.txt`;
  await fs.writeFile(list, present.join('\n'));
  try {
    const { code, reason } = await ffmpegProcess(ffmpegPath, joinPartsArgs({ list, target }), {}).exited;
    if (code !== 0) throw new Error(`cannot join the parts: ffmpeg ${reason}`);
  } finally {
    await fs.rm(list, { force: true });
  }
  await Promise.all(parts.map((part) => fs.rm(part.path, { force: true })));
  return problems;
}

/**
 * A part in the concat demuxer's list. A stopped part is cut where the stop
 * was asked for: a loaded encoder takes a moment to finish after that, and
 * what it captured meanwhile would make the file longer than the recording.
 */
function concatEntry(part: RecordingPart): string {
  const file = `file '${part.path.replace(/'/g, "'\\''")}'`;
  const length = (part.endedAt - part.startedAt) / 1000;
  return part.endedBy === 'stopped' && length > 0 ? `${file}\noutpoint ${length.toFixed(3)}` : file;
}

/** Whether ffprobe finds a stream with a duration (a crash before the first fragment leaves none). */
async function isPlayable(ffmpegPath: string, file: string): Promise<boolean> {
  const ffprobe = path.join(path.dirname(ffmpegPath), 'ffprobe');
  try {
    const { stdout } = await run(ffprobe, ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    return Number(stdout.trim()) > 0;
  } catch {
    return false;
  }
}

/** Writes the metadata beside the file, atomically (a reader never sees half of it). */
export async function writeMetadata(file: string, result: RecordingResult): Promise<void> {
  const temporary = `${file}.tmp`;
  await fs.writeFile(temporary, `${JSON.stringify(result, null, 2)}\n`);
  await fs.rename(temporary, file);
}

/** Runs the operator's finalize hook with the file's path; its outcome goes into the metadata. */
export async function runFinalizeHook(hook: { command: string; timeoutMs: number }, file: string): Promise<NonNullable<RecordingResult['finalizeHook']>> {
  try {
    const { stdout, stderr } = await run(hook.command, [file], { timeout: hook.timeoutMs, cwd: path.dirname(file) });
    return { command: hook.command, exitCode: 0, output: `${stdout}${stderr}`.slice(-2000) };
  } catch (error) {
    const failure = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return {
      command: hook.command,
      exitCode: typeof failure.code === 'number' ? failure.code : null,
      output: `${failure.stdout ?? ''}${failure.stderr ?? ''}${failure.message}`.slice(-2000),
    };
  }
}
