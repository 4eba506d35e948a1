// The retry schedule every reconnect and re-register loop shares (common/backoff.ts).
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../common/backoff.ts';

const MIDDLE = () => 0.5; // no spread

describe('Backoff', () => {
  it('doubles from the first delay', () => {
    const backoff = new Backoff({ firstMs: 1000, maxMs: 60_000 });
    expect([1, 2, 3, 4].map(() => backoff.next(MIDDLE))).toEqual([1000, 2000, 4000, 8000]);
  });

  it('stays at the maximum however long it fails', () => {
    const backoff = new Backoff({ firstMs: 5000, maxMs: 300_000 });
    const delays = Array.from({ length: 2000 }, () => backoff.next(MIDDLE));
    expect(delays.slice(0, 8)).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(delays.at(-1)).toBe(300_000);
  });

  it('starts again from the first delay after a success', () => {
    const backoff = new Backoff({ firstMs: 1000, maxMs: 30_000 });
    backoff.next(MIDDLE);
    backoff.next(MIDDLE);
    backoff.reset();
    expect(backoff.next(MIDDLE)).toBe(1000);
  });

  it('spreads each delay within the jitter either way', () => {
    const backoff = new Backoff({ firstMs: 1000, maxMs: 1000, jitter: 0.2 });
    expect(backoff.next(() => 0)).toBe(800);
    expect(backoff.next(() => 0.999_999)).toBe(1200);
    for (let i = 0; i < 1000; i++) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(800);
      expect(delay).toBeLessThanOrEqual(1200);
    }
  });

  it('refuses a schedule that makes no sense', () => {
    expect(() => new Backoff({ firstMs: 0, maxMs: 1000 })).toThrow(RangeError);
    expect(() => new Backoff({ firstMs: 2000, maxMs: 1000 })).toThrow(RangeError);
  });
});
