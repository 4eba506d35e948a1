import os from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Fast tests that stay next to the component they test: pure functions, no
 * servers, no fixed ports. They run with test/unit/ in the parallel project
 * and are kept out of the serial one, so each file runs exactly once.
 */
const FAST_ELSEWHERE = [
  'test/bridge/config.test.ts',
  'test/bridge/plainAddress.test.ts',
  'test/gateway/config.test.ts',
  'test/gateway/codecMatrix.test.ts',
  'test/recorder/config.test.ts',
  'test/recorder/streamErrors.test.ts',
  'test/web/streamTargets.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', ...FAST_ELSEWHERE],
          // No servers and no shared state: files run side by side, on every core (vitest's
          // default leaves one idle: a single worker on 2 cores). In child processes, not
          // worker threads: @evan/opus's native binding crashes a thread as it exits.
          pool: 'forks',
          maxWorkers: os.availableParallelism(),
          // Files share their worker's module cache, which makes the project 3-4 times faster;
          // so a unit test must not vi.mock modules nor leave globals (timers, env) changed.
          isolate: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', ...FAST_ELSEWHERE],
          // Real media servers and browsers on 2 cores: one file at a time.
          fileParallelism: false,
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
