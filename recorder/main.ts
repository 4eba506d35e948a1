// Starts a recorder worker alone, against the bridge at BRIDGE_URL and the
// queue at REDIS_URL. Scale out by starting more, anywhere.
import { trustBridge } from '../protocol/bridgeTrust.ts';
import { loadConfigOrExit, stopOnSignal } from '../common/lifecycle.ts';
import { createLogger } from '../common/logger.ts';
import { loadRecorderConfig } from './config.ts';
import { RecorderWorker } from './RecorderWorker.ts';

const config = loadConfigOrExit('recorder', () => loadRecorderConfig());
const logger = createLogger(config.logLevel, 'recorder');
trustBridge(config.bridgeUrl, config.bridgeTrust);
const worker = new RecorderWorker(config, logger);
await worker.ready();
stopOnSignal(logger, () => worker.stop());
