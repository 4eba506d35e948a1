import os from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

/**
 * Integration files that may run two at a time: each starts its own servers
 * (bridge, gateway, Redis, sipp, baresip, linphone) on ports from its own slice
 * (test/helpers/ports.ts) and uses no browser, no recorder, no test host
 * (network namespace), no fixed port, little CPU and no rate it must keep
 * (floods are timed: sipFlood and limits run alone). A new file runs alone
 * (integration-serial) until it is known to be one of these.
 */
const SIDE_BY_SIDE = [
  'test/deploy.test.ts',
  'test/common/lifecycle.test.ts',
  'test/recorder/finalize.test.ts',
  ...['acme', 'badInput', 'bridgeTrust', 'e2ee', 'failover', 'lobby', 'moderation', 'permissions', 'directoryJoins', 'plainTransport', 'rest', 'restAccess', 'roomForwarding', 'signaling', 'speakers', 'srtp', 'streamDestinations', 'tls', 'turn'].map(
    (name) => `test/bridge/${name}.test.ts`,
  ),
  ...['bridgeControl', 'callLimits', 'dialOut', 'dialOutPolicy', 'lobby', 'linphone', 'mediaRestart', 'sipEngine', 'sippCalls', 'trunkRegister', 'trust', 'twoCallers'].map(
    (name) => `test/gateway/${name}.test.ts`,
  ),
];

/**
 * The side-by-side files that take longest (about 95, 70, 55, 50, 35, 25 and
 * 20 s in CI), started first so the two workers finish together: vitest's own
 * order (larger files first, without a cache, as on a clean clone) left the
 * longest of all to run alone at the end.
 */
const LONGEST_FIRST = [
  'test/gateway/linphone.test.ts',
  'test/gateway/sippCalls.test.ts',
  'test/gateway/trust.test.ts',
  'test/gateway/lobby.test.ts',
  'test/gateway/sipEngine.test.ts',
  'test/gateway/callLimits.test.ts',
  'test/bridge/acme.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FIRST.findIndex((file) => spec.moduleId.endsWith(file));
      return index === -1 ? LONGEST_FIRST.length : index;
    };
    // Stable: vitest's order (projects, groups) stands; within it, the known long files lead.
    const sorted = await super.sort(files);
    return sorted
      .map((spec, position) => ({ spec, position }))
      .sort((a, b) => {
        const sameProject = a.spec.project.name === b.spec.project.name;
        return sameProject ? rank(a.spec) - rank(b.spec) || a.position - b.position : a.position - b.position;
      })
      .map(({ spec }) => spec);
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: LongestFirst },
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
          include: SIDE_BY_SIDE,
          // Two files at a time: they mostly wait on real time (SIP timers, prompts played out).
          pool: 'forks',
          maxWorkers: 2,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'integration-serial',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/unit/**', ...FAST_ELSEWHERE, ...SIDE_BY_SIDE],
          // Browsers, recorders, test hosts (network namespaces) and heavy media on 2 cores: one file
          // at a time, and only after the side-by-side files, so none of them competes for the cores.
          fileParallelism: false,
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
