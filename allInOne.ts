// The whole system in one process, as the quick start runs it: the bridge
// (SFU, signaling, REST, web client), the SIP gateway with its embedded SIP
// engine and one recorder worker, the gateway and the recorder talking to the
// bridge over its public protocol. Recordings are queued on REDIS_URL, or,
// without one, on a local Redis (localRedis.ts).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_API_KEYS_FILE, loadApiCredentials } from './bridge/auth/ApiCredentials.ts';
import { Bridge, whereToOpen } from './bridge/Bridge.ts';
import { DEFAULT_TLS_DIR, loadBridgeConfig } from './bridge/config.ts';
import { hostNames, selfSignedCertificate } from './bridge/tls/selfSigned.ts';
import { loadConfigOrExit, stopOnSignal } from './common/lifecycle.ts';
import { createLogger } from './common/logger.ts';
import { loadGatewayConfig } from './gateway/config.ts';
import { Gateway } from './gateway/Gateway.ts';
import { LOCAL_REDIS_URL, LocalRedis, LocalRedisError } from './localRedis.ts';
import { describeRedis, withTimeout } from './queue/redis.ts';
import { loadRecorderConfig } from './recorder/config.ts';
import { RecorderWorker } from './recorder/RecorderWorker.ts';

// All three share one SERVICE_SECRET; without one configured, a fresh one per start. HTTPS
// unless HTTP_ONLY=true: browsers on other machines get camera and microphone only over HTTPS.
const env: NodeJS.ProcessEnv = { SERVICE_SECRET: randomBytes(24).toString('base64url'), HTTP_ONLY: 'false', ...process.env };
const ownRedis = !env.REDIS_URL;
if (ownRedis) env.REDIS_URL = LOCAL_REDIS_URL;
const bridgeConfig = loadConfigOrExit('bridge', () => loadBridgeConfig(env));
const api = loadConfigOrExit('bridge', () => loadApiCredentials(bridgeConfig.api));
// The gateway and the recorder reach the bridge over loopback, which the bridge keeps on plain
// HTTP: nothing leaves this host, and the recorder's Chromium counts localhost as secure.
const bridgeUrl = `http://127.0.0.1:${bridgeConfig.http.port}`;
// SIP over TLS out of the box, as HTTPS: a self-signed pair for this host's names, kept in
// sip/ under TLS_DIR (data/tls), unless SIP_TLS_CERT and SIP_TLS_KEY name the operator's own.
if (!env.SIP_TLS_CERT && !env.SIP_TLS_KEY) {
  const dir = path.join(env.TLS_DIR ?? DEFAULT_TLS_DIR, 'sip');
  const { files } = await selfSignedCertificate(dir, hostNames(env.SIP_PUBLIC_ADDRESS ? [env.SIP_PUBLIC_ADDRESS] : []));
  env.SIP_TLS_CERT = files.cert;
  env.SIP_TLS_KEY = files.key;
}
const gatewayConfig = loadConfigOrExit('gateway', () => loadGatewayConfig({ BRIDGE_URL: bridgeUrl, ...env }));
// The recorder writes where the bridge lists and serves recordings from.
const recorderConfig = loadConfigOrExit('recorder', () =>
  loadRecorderConfig({ BRIDGE_URL: bridgeUrl, RECORDINGS_DIR: bridgeConfig.recording.dir, ...env }),
);
const logger = createLogger(bridgeConfig.logLevel, 'telebridge');

let redis: LocalRedis | undefined;
if (ownRedis) {
  try {
    redis = await LocalRedis.start(fileURLToPath(new URL('./data/redis', import.meta.url)), logger.child({ service: 'redis' }));
  } catch (error) {
    if (!(error instanceof LocalRedisError)) throw error;
    console.error(`telebridge: recording needs Redis: ${error.message}`);
    process.exit(1);
  }
}

let bridge: Bridge;
try {
  bridge = await Bridge.start(bridgeConfig, logger.child({ service: 'bridge' }), api);
} catch (error) {
  await redis?.stop();
  throw error;
}
logger.info({ ...whereToOpen(bridgeConfig, bridge), workers: bridgeConfig.media.workers }, 'bridge ready');
// How to call REST from this host. The example mints a short-lived token from the key file
// when it runs, so neither the secret nor a token lands in this log or the shell history.
const keyFileEnv = api.file && api.file !== DEFAULT_API_KEYS_FILE ? `API_KEYS_FILE=${api.file} ` : '';
logger.info(
  {
    apiKeys: api.file ?? 'API_KEY and API_SECRET (environment)',
    apiKey: api.credentials.key,
    example: `curl -H "Authorization: Bearer $(${keyFileEnv}npm run --silent token -- --operator --ttl 5m)" ${bridgeUrl}/api/rooms`,
  },
  'REST API: operator key',
);
let gateway: Gateway;
try {
  gateway = await Gateway.start(gatewayConfig, logger.child({ service: 'gateway' }));
} catch (error) {
  logger.fatal({ err: error }, 'SIP gateway did not start');
  await bridge.stop();
  await redis?.stop();
  process.exit(1);
}
const recorder = new RecorderWorker(recorderConfig, logger.child({ service: 'recorder' }));
// SIGTERM drains the bridge as bridge/main.ts does (meetings under way end first, within BRIDGE_DRAIN_TIMEOUT_SECONDS); SIGINT stops at once.
const stopNow = stopOnSignal(
  logger,
  async () => {
    // Recordings under way are finished first, while the bridge and Redis still run.
    await recorder.stop();
    await gateway.stop();
    await bridge.stop();
    await redis?.stop();
  },
  () => bridge.drain.start('SIGTERM'),
);
void bridge.drain.done.then(() => stopNow('drained'));
try {
  await withTimeout(recorder.ready(), 10_000, 'not connected within 10 s');
  logger.info({ redis: describeRedis(recorderConfig.redisUrl), concurrency: recorderConfig.concurrency }, 'recorder ready');
} catch (error) {
  // A Redis of the operator's that is down for now: the worker keeps trying; recording answers 503 meanwhile.
  logger.warn({ redis: describeRedis(recorderConfig.redisUrl), err: error }, 'recorder cannot reach Redis yet; recording starts working once it can');
}
