// A recording's parts and its crash budget: a capture that dies ends its part
// (kept, playable), the next capture writes the next part, and after ten
// restarts the job gives up with a fatal problem.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CaptureParts } from '../../recorder/CaptureParts.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

function parts(firstPart = 1) {
  const problems: { message: string; fatal: boolean }[] = [];
  const capture = new CaptureParts(firstPart, (message, fatal = false) => problems.push({ message, fatal }));
  return { capture, problems };
}

describe('capture parts', () => {
  it('lists the part being written as ending now, with no endedBy yet', () => {
    const { capture } = parts(3);
    expect(capture.number).toBe(3);
    expect(capture.list()).toEqual([]);
    capture.begin('/rec/part-3.mp4');
    vi.setSystemTime(T0 + 5000);
    expect(capture.list()).toEqual([{ path: '/rec/part-3.mp4', startedAt: T0, endedAt: T0 + 5000, endedBy: '' }]);
    vi.setSystemTime(T0 + 9000);
    expect(capture.list()[0]!.endedAt).toBe(T0 + 9000);
  });

  it('ends a part once: a later end does not move it', () => {
    const { capture } = parts();
    capture.begin('/rec/part-1.mp4');
    vi.setSystemTime(T0 + 1000);
    capture.end('stopped');
    vi.setSystemTime(T0 + 2000);
    capture.end('stopped again');
    expect(capture.list()).toEqual([{ path: '/rec/part-1.mp4', startedAt: T0, endedAt: T0 + 1000, endedBy: 'stopped' }]);
  });

  it('starts a part when its media was first captured, and ends a stopped one when the stop was asked for', () => {
    const { capture } = parts();
    capture.begin('/rec/part-1.mp4');
    capture.capturedFrom(T0 + 700);
    vi.setSystemTime(T0 + 12_000);
    capture.end('stopped', T0 + 10_700);
    expect(capture.list()).toEqual([{ path: '/rec/part-1.mp4', startedAt: T0 + 700, endedAt: T0 + 10_700, endedBy: 'stopped' }]);
    capture.capturedFrom(T0 + 900); // an ended part keeps its start
    expect(capture.list()[0]!.startedAt).toBe(T0 + 700);
  });

  it('does nothing when ending before any part began', () => {
    const { capture } = parts();
    capture.end('stopped');
    expect(capture.list()).toEqual([]);
  });

  it('hands out copies: changing the list does not change the parts', () => {
    const { capture } = parts();
    capture.begin('/rec/part-1.mp4');
    capture.list()[0]!.path = '/elsewhere';
    expect(capture.list()[0]!.path).toBe('/rec/part-1.mp4');
  });

  it('ends the part of a capture that died, says so and moves on to the next part', () => {
    const { capture, problems } = parts();
    capture.begin('/rec/part-1.mp4');
    vi.setSystemTime(T0 + 1000);
    expect(capture.captureDied('exit code 1')).toBe(true);
    expect(capture.number).toBe(2);
    expect(capture.list()[0]).toMatchObject({ endedAt: T0 + 1000, endedBy: 'the capture (ffmpeg) died (exit code 1)' });
    expect(problems).toEqual([{ message: 'the capture (ffmpeg) died (exit code 1); recording continues in part 2', fatal: false }]);
    capture.begin('/rec/part-2.mp4');
    expect(capture.captureDied('gone', 'the virtual display (Xvfb)')).toBe(true);
    expect(capture.list().map((p) => p.endedBy)).toEqual(['the capture (ffmpeg) died (exit code 1)', 'the virtual display (Xvfb) died (gone)']);
  });

  it('gives up after ten restarts, whatever died, with a fatal problem', () => {
    const { capture, problems } = parts();
    for (let i = 0; i < 5; i++) expect(capture.mayRestart('the browser crashed')).toBe(true);
    for (let i = 0; i < 5; i++) {
      capture.begin(`/rec/part-${capture.number}.mp4`);
      expect(capture.captureDied('killed')).toBe(true);
    }
    expect(capture.number).toBe(6);
    expect(problems.filter((p) => p.fatal)).toEqual([]);

    capture.begin('/rec/part-6.mp4');
    expect(capture.captureDied('killed')).toBe(false);
    // The last part is kept and ended; there is no next one.
    expect(capture.number).toBe(6);
    expect(capture.list()).toHaveLength(6);
    expect(capture.list().at(-1)!.endedBy).toBe('the capture (ffmpeg) died (killed)');
    expect(problems.at(-1)).toEqual({ message: 'the capture (ffmpeg) died: killed; giving up after 10 restarts', fatal: true });
    expect(capture.mayRestart('the browser crashed')).toBe(false);
  });
});
