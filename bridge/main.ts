// Starts the bridge alone (SFU, signaling, REST, web client).
import { Bridge } from './Bridge.ts';
import { ConfigError, loadBridgeConfig } from './config.ts';
import { createLogger } from './logger.ts';

let config;
try {
  config = loadBridgeConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`bridge: ${error.message}`);
  process.exit(1);
}
const logger = createLogger(config.logLevel, 'bridge');
const bridge = await Bridge.start(config, logger);
logger.info({ url: bridge.url, workers: config.media.workers, announcedAddress: config.media.announcedAddress }, 'bridge ready');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    bridge.stop().then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  });
}
