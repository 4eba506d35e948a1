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

/**
 * Stops cleanly on SIGINT/SIGTERM, then exits. With `drain` (a bridge), the
 * first SIGTERM calls it instead, and the caller stops with the returned
 * function once drained; a second SIGTERM, or SIGINT, stops at once. A
 * signal while stopping exits at once, without waiting for the stop.
 */
export function stopOnSignal(logger: Logger, stop: () => Promise<void>, drain?: () => void): (reason: string) => void {
  let stopping = false;
  const stopNow = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    // A clean stop can hang on a dependency that is gone (Redis, a SIP engine): asked again, the process goes at once.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
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
    process.once('SIGTERM', () => stopNow('a second SIGTERM'));
    drain();
  });
  return stopNow;
}
