// How an entry point stops on signals (common/lifecycle.ts stopOnSignal), in
// a real Node process: a signal delivered twice at once (npm forwards to its
// child what the child got from the terminal or systemd too) is one request,
// and the clean stop finishes (exit 0); asked again later, while the stop
// hangs, the process exits at once (1).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

/** A process whose stop takes `stopMs` (forever when -1), ready once it says so. */
async function stopping(stopMs: number) {
  const script = `
    import { stopOnSignal } from './common/lifecycle.ts';
    const logger = { info(_, message) { console.log(message); }, warn() {}, error() {} };
    stopOnSignal(logger, () => new Promise((resolve) => { if (${stopMs} >= 0) setTimeout(resolve, ${stopMs}); }));
    console.log('ready');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
  const said: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => said.push(line));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  await waitFor('the process to be ready', () => said.includes('ready'), 10_000, 10);
  return { child, exited, said };
}

describe('stopping on signals', () => {
  it('takes a signal delivered twice at once as one: the clean stop finishes, exit 0', async () => {
    const { child, exited, said } = await stopping(300);
    child.kill('SIGINT');
    // The same signal again once the first has started the stop, as npm's forwarded copy arrives.
    await waitFor('the stop to start', () => said.includes('shutting down'), 5_000, 5);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  it('asked again while its stop hangs, exits at once with 1', async () => {
    const { child, exited } = await stopping(-1);
    const first = Date.now();
    child.kill('SIGTERM');
    // A second request, well after the first (not the same one delivered twice).
    await new Promise<void>((resolve) => {
      const again = setInterval(() => {
        if (Date.now() - first < 600) return;
        clearInterval(again);
        child.kill('SIGTERM');
        resolve();
      }, 50);
    });
    expect(await exited).toBe(1);
  });
});
