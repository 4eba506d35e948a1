// Process plumbing shared by every entry point (bridge, gateway, all-in-one).
import { ConfigError } from '../common/config.ts';
import type { Logger } from './logger.ts';

/** Loads config, or prints what is wrong (naming the variables) and exits 1. */
export function loadConfigOrExit<T>(service: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${service}: ${error.message}`);
    process.exit(1);
  }
}

/** A signal this soon after the last one acted on is the same request delivered twice: npm forwards to its child what the child got from the terminal or systemd too, at once. */
const REPEAT_GRACE_MS = 250;

/**
 * Stops cleanly on SIGINT/SIGTERM, then exits. With `drain` (a bridge), the
 * first SIGTERM calls it instead, and the caller stops with the returned
 * function once drained; a second SIGTERM, or SIGINT, stops at once. A
 * signal while stopping exits at once, without waiting for the stop. A
 * repeat within REPEAT_GRACE_MS counts as the same signal.
 */

export function stopOnSignal(logger: Logger, stop: () => Promise<void>, drain?: () => void): (reason: string) => void {
  let stopping = false;
  const stopNow = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    // A clean stop can hang on a dependency that is gone (Redis, a SIP engine): asked again, the process goes at once.
    const since = Date.now();
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (Date.now() - since < REPEAT_GRACE_MS) return;
        logger.warn({ signal }, 'asked again while shutting down: exiting now');
        process.exit(1);
      });
    }
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stopNow('SIGINT'));
  process.once('SIGTERM', () => {
    if (!drain) return stopNow('SIGTERM');
    const drainedSince = Date.now();
    const again = () => (Date.now() - drainedSince < REPEAT_GRACE_MS ? process.once('SIGTERM', again) : stopNow('a second SIGTERM'));
    process.once('SIGTERM', again);
    drain();
  });
  return stopNow;
}
