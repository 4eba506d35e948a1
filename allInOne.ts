// The whole system in one process, as the quick start runs it: the bridge
// (SFU, signaling, REST, web client) and the SIP gateway with its embedded
// SIP engine, the gateway talking to the bridge over its public protocol.
import { randomBytes } from 'node:crypto';
import { Bridge } from './bridge/Bridge.ts';
import { loadBridgeConfig } from './bridge/config.ts';
import { loadConfigOrExit, stopOnSignal } from './bridge/lifecycle.ts';
import { createLogger } from './bridge/logger.ts';
import { loadGatewayConfig } from './gateway/config.ts';
import { Gateway } from './gateway/Gateway.ts';

// Both halves share one SERVICE_SECRET; without one configured, a fresh one per start.
const env = { SERVICE_SECRET: randomBytes(24).toString('base64url'), ...process.env };
const bridgeConfig = loadConfigOrExit('bridge', () => loadBridgeConfig(env));
const gatewayConfig = loadConfigOrExit('gateway', () =>
  loadGatewayConfig({ BRIDGE_URL: `http://127.0.0.1:${bridgeConfig.http.port}`, ...env }),
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
