// Starts the bridge alone (SFU, signaling, REST, web client).
import { Bridge, whereToOpen } from './Bridge.ts';
import { loadBridgeConfig } from './config.ts';
import { loadConfigOrExit, stopOnSignal } from '../common/lifecycle.ts';
import { createLogger } from '../common/logger.ts';

const config = loadConfigOrExit('bridge', () => loadBridgeConfig());
const logger = createLogger(config.logLevel, 'bridge');
const bridge = await Bridge.start(config, logger);
logger.info({ ...whereToOpen(config, bridge), url: bridge.url, workers: config.media.workers, announcedAddress: config.media.announcedAddress }, 'bridge ready');
stopOnSignal(logger, () => bridge.stop());
