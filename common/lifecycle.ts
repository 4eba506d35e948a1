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

/** Stops cleanly on SIGINT/SIGTERM, then exits. */
export function stopOnSignal(logger: Logger, stop: () => Promise<void>): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down');
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'unclean shutdown');
          process.exit(1);
        },
      );
    });
  }
}
