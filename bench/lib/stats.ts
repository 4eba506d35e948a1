/** The p-th percentile (nearest rank) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on this machine. */
export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}
