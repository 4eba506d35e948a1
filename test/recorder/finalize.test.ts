// Joining a recording's parts (recorder/finalize.ts) with the real ffmpeg: a
// stopped part is cut where the stop was asked for, however long its encoder
// ran after; a part that ended in a crash keeps all it holds.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinParts } from '../../recorder/finalize.ts';
import { probe } from '../helpers/media.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ffmpeg = execFileSync('which', ['ffmpeg'], { encoding: 'utf8' }).trim();

describe('joining recording parts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'join-parts-'));
  /** A 10 s fragmented MP4 with H.264 and AAC, as the capture writes. */
  const part = (name: string) => {
    const file = path.join(dir, name);
    execFileSync(ffmpeg, [
      ...['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=f=440', '-t', '10'],
      ...['-c:v', 'libx264', '-g', '25', '-c:a', 'aac', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', file],
    ]);
    return file;
  };
  let crashed: string;
  let stopped: string;

  beforeAll(() => {
    crashed = part('a.part1.mp4');
    stopped = part('a.part2.mp4');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('cuts the stopped part at the stop and keeps the crashed one whole', async () => {
    const target = path.join(dir, 'a.mp4');
    const problems = await joinParts(ffmpeg, [
      { path: crashed, startedAt: T0, endedAt: T0 + 4000, endedBy: 'the capture (ffmpeg) died (SIGKILL)' },
      { path: stopped, startedAt: T0 + 5000, endedAt: T0 + 11_300, endedBy: 'stopped' },
    ], target);
    expect(problems).toEqual([]);
    const probed = await probe(target);
    // 10 s of the crashed part (what it wrote, not what its times say) and 6.3 s of the stopped one.
    expect(Number(probed.format.duration)).toBeGreaterThan(16.1);
    expect(Number(probed.format.duration)).toBeLessThan(16.7);
    expect(fs.existsSync(stopped)).toBe(false); // the parts go once the file exists
  });
});
