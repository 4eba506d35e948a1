// Starts the SIP gateway alone, against a bridge at BRIDGE_URL; it runs the
// embedded SIP engine unless DRACHTIO_HOST names a drachtio-server.
import { trustBridge } from '../protocol/bridgeTrust.ts';
import { loadConfigOrExit, stopOnSignal } from '../common/lifecycle.ts';
import { createLogger } from '../common/logger.ts';
import { loadGatewayConfig } from './config.ts';
import { Gateway } from './Gateway.ts';

const config = loadConfigOrExit('gateway', () => loadGatewayConfig());
const logger = createLogger(config.logLevel, 'gateway');
trustBridge(config.bridge.httpUrl, config.bridge.trust);
const gateway = await Gateway.start(config, logger);
stopOnSignal(logger, () => gateway.stop());
