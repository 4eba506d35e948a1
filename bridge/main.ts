// Starts the bridge alone (SFU, signaling, REST, web client).
import { loadApiCredentials } from './auth/ApiCredentials.ts';
import { Bridge, whereToOpen } from './Bridge.ts';
import { loadBridgeConfig } from './config.ts';
import { loadConfigOrExit, stopOnSignal } from '../common/lifecycle.ts';
import { createLogger } from '../common/logger.ts';

const config = loadConfigOrExit('bridge', () => loadBridgeConfig());
const api = loadConfigOrExit('bridge', () => loadApiCredentials(config.api));
const logger = createLogger(config.logLevel, 'bridge');
const bridge = await Bridge.start(config, logger, api);
logger.info({ ...whereToOpen(config, bridge), url: bridge.url, workers: config.media.workers, announcedAddress: config.media.announcedAddress }, 'bridge ready');
const stopNow = stopOnSignal(logger, () => bridge.stop(), () => bridge.drain.start('SIGTERM'));
// However it started (SIGTERM, POST /api/bridge/drain), a finished drain stops the bridge and the process.
void bridge.drain.done.then(() => stopNow('drained'));
