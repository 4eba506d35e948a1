// The whole system in one process, as the quick start runs it: the bridge
// (SFU, signaling, REST, web client) and the SIP gateway with its embedded
// SIP engine, the gateway talking to the bridge over its public protocol.
import { Bridge } from './bridge/Bridge.ts';
import { loadBridgeConfig } from './bridge/config.ts';
import { loadConfigOrExit, stopOnSignal } from './bridge/lifecycle.ts';
import { createLogger } from './bridge/logger.ts';
import { loadGatewayConfig } from './gateway/config.ts';
import { Gateway } from './gateway/Gateway.ts';

const bridgeConfig = loadConfigOrExit('bridge', () => loadBridgeConfig());
const gatewayConfig = loadConfigOrExit('gateway', () =>
  loadGatewayConfig({ BRIDGE_URL: `http://127.0.0.1:${bridgeConfig.http.port}`, ...process.env }),
);
const logger = createLogger(bridgeConfig.logLevel, 'telebridge');
const bridge = await Bridge.start(bridgeConfig, logger.child({ service: 'bridge' }));
logger.info({ url: bridge.url, workers: bridgeConfig.media.workers }, 'bridge ready');
let gateway: Gateway;
try {
  gateway = await Gateway.start(gatewayConfig, logger.child({ service: 'gateway' }));
} catch (error) {
  logger.fatal({ err: error }, 'SIP gateway did not start');
  await bridge.stop();
  process.exit(1);
}
stopOnSignal(logger, async () => {
  await gateway.stop();
  await bridge.stop();
});
