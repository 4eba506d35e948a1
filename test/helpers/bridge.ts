import { loadApiCredentials } from '../../bridge/auth/ApiCredentials.ts';
import { Bridge } from '../../bridge/Bridge.ts';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { createLogger, type Logger } from '../../common/logger.ts';
import { freePort, freePortRange } from './ports.ts';

/** What test services (gateways, hidden peers) present to test bridges. */
export const TEST_SERVICE_SECRET = 'test-service-secret-0123456789';
/** The operator's API key and secret of test bridges. */
export const TEST_API = { key: 'TBtestoperator', secret: 'test-api-secret-0123456789-0123456789-abcdef' };

/** A real bridge in this process, on free ports, announcing loopback (logging to `logger` if given). */
export async function startBridge(env: Record<string, string> = {}, logger?: Logger): Promise<Bridge> {
  const workers = Number(env.MEDIA_WORKERS ?? 2);
  const base = await freePortRange(workers + 200);
  const config = loadBridgeConfig({
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    MEDIA_LISTEN_IP: '127.0.0.1',
    MEDIA_ANNOUNCED_ADDRESS: '127.0.0.1',
    MEDIA_PORT_BASE: String(base),
    MEDIA_PLAIN_PORT_MIN: String(base + workers),
    MEDIA_PLAIN_PORT_MAX: String(base + workers + 199),
    MEDIA_WORKERS: String(workers),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    API_KEY: TEST_API.key,
    API_SECRET: TEST_API.secret,
    ...env,
  });
  return Bridge.start(config, logger ?? createLogger(config.logLevel, 'bridge'), loadApiCredentials(config.api));
}
