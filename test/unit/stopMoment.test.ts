// When a stopped recording ends (recorder/RecordingRun.ts stopMoment): the
// moment the stop was asked for by the bridge's clock, kept within what the
// worker's own clock allows, so hosts whose clocks differ neither cut the end
// of the file nor make it run on.
import { describe, expect, it } from 'vitest';
import { stopMoment } from '../../recorder/RecordingRun.ts';

const SEEN = 1_800_000_000_000;

describe('stopMoment', () => {
  it('takes the moment the stop was asked for when the clocks agree', () => {
    expect(stopMoment(SEEN - 200, SEEN)).toBe(SEEN - 200);
  });

  it('does not cut more than a second back when the bridge\'s clock is behind (here by a minute)', () => {
    expect(stopMoment(SEEN - 60_000, SEEN)).toBe(SEEN - 1000);
  });

  it('never ends after the worker saw the stop when the bridge\'s clock is ahead', () => {
    expect(stopMoment(SEEN + 60_000, SEEN)).toBe(SEEN);
  });
});
