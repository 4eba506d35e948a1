import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Probe {
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
  format: { duration: string; format_name: string };
}

/** ffprobe's view of a file or stream; throws (with ffprobe's words) if it is not readable media. */
export async function probe(target: string): Promise<Probe> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', target]);
  return JSON.parse(stdout) as Probe;
}

export function codecs(probed: Probe): string[] {
  return probed.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort();
}

/** The audio's mean and peak level in dBFS (ffmpeg volumedetect); -91 is digital silence. */
export async function audioVolume(file: string): Promise<{ mean: number; max: number }> {
  const { stderr } = await run('ffmpeg', ['-hide_banner', '-nostats', '-i', file, '-vn', '-af', 'volumedetect', '-f', 'null', '-']);
  const level = (name: string) => Number(new RegExp(`${name}:\\s*(-?[\\d.]+) dB`).exec(stderr)?.[1] ?? Number.NaN);
  return { mean: level('mean_volume'), max: level('max_volume') };
}

/** A file's pictures as small grey thumbnails (`fps` of them a second, or every decoded one), one byte a pixel. */
export async function greyFrames(file: string, { width, height, fps }: { width: number; height: number; fps?: number }): Promise<Buffer[]> {
  const filters = [...(fps ? [`fps=${fps}`] : []), `scale=${width}:${height}`, 'format=gray'];
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-loglevel', 'error', '-i', file, '-an', '-vf', filters.join(','), '-f', 'rawvideo', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  const size = width * height;
  return Array.from({ length: Math.floor(stdout.length / size) }, (_, i) => stdout.subarray(i * size, (i + 1) * size));
}

/** A part of the picture, in fractions of its width and height from its top left corner. */
export interface PictureArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

const WHOLE_PICTURE: PictureArea = { left: 0, top: 0, width: 1, height: 1 };

/**
 * How much the picture (or `area` of it: one tile of a layout) moves: the
 * share of the file's seconds in which it changed visibly at least once
 * (sampled 4 times a second, 64x36 grey). A frozen video scores 0; a loaded
 * encoder that gets one fresh frame a second still scores 1, so the check
 * tells a freeze from a low frame rate.
 */
export async function motionShare(file: string, area: PictureArea = WHOLE_PICTURE): Promise<number> {
  const seconds = await motionBySecond(file, area);
  return seconds.length === 0 ? 0 : seconds.filter(Boolean).length / seconds.length;
}

/** For each whole second of the file, whether the picture (or `area`) changed visibly in it: what motionShare counts, to print when it fails. */
export async function motionBySecond(file: string, area: PictureArea = WHOLE_PICTURE): Promise<boolean[]> {
  const perSecond = 4;
  const size = { width: 64, height: 36 };
  const frames = (await greyFrames(file, { ...size, fps: perSecond })).map((frame) => cropped(frame, size, area));
  const seconds = Math.floor((frames.length - 1) / perSecond);
  return Array.from({ length: Math.max(0, seconds) }, (_, second) => {
    for (let i = second * perSecond + 1; i <= (second + 1) * perSecond; i++) {
      if (meanDifference(frames[i]!, frames[i - 1]!) > 0.5) return true;
    }
    return false;
  });
}

/** The pixels of `area` of a grey picture of `size`, row after row. */
function cropped(frame: Buffer, size: { width: number; height: number }, area: PictureArea): Buffer {
  const [left, right] = [area.left, area.left + area.width].map((x) => Math.round(x * size.width)) as [number, number];
  const [top, bottom] = [area.top, area.top + area.height].map((y) => Math.round(y * size.height)) as [number, number];
  if (left === 0 && top === 0 && right === size.width && bottom === size.height) return frame;
  const rows: Buffer[] = [];
  for (let y = top; y < bottom; y++) rows.push(frame.subarray(y * size.width + left, y * size.width + right));
  return Buffer.concat(rows);
}

/** The mean absolute difference of two same-sized grey pictures, in grey levels (0-255). */
export function meanDifference(a: Buffer, b: Buffer): number {
  let difference = 0;
  for (let p = 0; p < a.length; p++) difference += Math.abs(a[p]! - b[p]!);
  return difference / a.length;
}

/** A stretch of a file's audio (to its end if `seconds` is not given) as mono 16-bit samples at 16 kHz (for tone checks). */
export async function audioOf(file: string, { from, seconds }: { from: number; seconds?: number }): Promise<{ samples: Int16Array; sampleRate: number }> {
  const sampleRate = 16000;
  const length = seconds === undefined ? [] : ['-t', String(seconds)];
  const { stdout } = await run(
    'ffmpeg',
    ['-hide_banner', '-nostats', '-loglevel', 'error', '-ss', String(from), ...length, '-i', file, '-vn', '-ac', '1', '-ar', String(sampleRate), '-f', 's16le', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 << 20 },
  );
  const samples = new Int16Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + (stdout.length & ~1)));
  if (samples.length < sampleRate * (seconds ?? 1) * 0.9) throw new Error(`${file} holds less than ${seconds ?? 1} s of audio from ${from} s`);
  return { samples, sampleRate };
}
