// The split deployment: bridge (with its Redis), SIP gateway and recorder
// each on a host of their own, started from their entry points with the
// environment docker-compose.yml gives them, and users on other hosts: one
// on an ordinary network, one whose UDP is blocked, one phone behind a NAT.
// The bridge serves HTTPS with the site's certificate; every service and
// browser reaches it over TLS and checks that certificate.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe } from 'vitest';
import { composeEnvironment } from '../helpers/compose.ts';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { readApiKeyFile } from '../helpers/rest.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { TestCa } from '../helpers/testCa.ts';
import { waitFor } from '../helpers/wait.ts';
import { edgeJourneys, meetingJourneys } from './journeys.ts';
import { spkiSha256 } from '../../protocol/bridgeTrust.ts';

const TRUNK_PORT = 5070;
const SERVICE_SECRET = 'split-deployment-service-secret';

describe('the split deployment: bridge, gateway and recorder on hosts of their own', () => {
  let network: TestNetwork;
  const hosts: Record<'bridge' | 'gateway' | 'recorder' | 'clients' | 'restricted', TestHost> = {} as never;
  let natPhone: TestHost;
  let natRouter: TestHost;
  const services: ServiceProcess[] = [];
  // The recorders write where the bridge lists and serves files (compose's shared volume).
  const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'split-recordings-'));
  const caDir = fs.mkdtempSync(path.join(os.tmpdir(), 'split-ca-'));
  /** Where the bridge keeps the API key it makes on first start (removed with caDir). */
  const apiKeyFile = path.join(caDir, 'api-key.json');
  // The CA of a private ingest server the recorder streams to over RTMPS.
  let ingestCa: TestCa;
  // The site's own CA, which signed the bridge's certificate: the services are told to trust it.
  let siteCa: TestCa;
  /** What browsers pin to trust the bridge's certificate, as a user who accepted it would. */
  let bridgeSpki: string;

  beforeAll(async () => {
    network = await TestNetwork.create({ id: 'split', subnet: '198.18.2' });
    for (const [name, last] of [['bridge', 1], ['gateway', 2], ['recorder', 3], ['clients', 10], ['restricted', 11]] as const) {
      hosts[name] = await network.addHost(name, last);
    }
    ({ host: natPhone, router: natRouter } = await network.addHostBehindNat('natphone', 20, '198.19.2'));
    await hosts.restricted.blockUdp();
    const { bridge, gateway, recorder, clients } = hosts;
    const bridgeUrl = `https://${bridge.address}:8443`;
    const redisUrl = `redis://${bridge.address}:6379`;

    // docker-compose.yml's services with the environment it gives them. Compose runs them all
    // on one host's network and reaches the bridge and Redis at 127.0.0.1; on hosts of their
    // own, those addresses become the bridge host's (the README's production section).
    ingestCa = await TestCa.create(path.join(caDir, 'ingest'), 'Private Ingest CA');
    siteCa = await TestCa.create(path.join(caDir, 'site'), 'Site CA');
    const bridgeCertificate = await siteCa.issue(bridge.address);
    bridgeSpki = spkiSha256(new crypto.X509Certificate(fs.readFileSync(bridgeCertificate.cert)));
    // This process (REST calls, downloads) trusts the site's CA too.
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), fs.readFileSync(siteCa.certificate, 'utf8')]);
    const variables = {
      SERVICE_SECRET,
      RECORDER_STREAM_CA_FILE: ingestCa.certificate,
      // HTTPS with the site's certificate; the gateway and the recorder check it against the site's CA.
      TLS_CERT: bridgeCertificate.cert,
      TLS_KEY: bridgeCertificate.key,
      BRIDGE_CA_FILE: siteCa.certificate,
    };
    // Redis where the recorders reach it; the test network is private, so without a password (protected mode off).
    const redis = ServiceProcess.start(
      bridge,
      'redis',
      'redis-server',
      ['--bind', bridge.address, '127.0.0.1', '--protected-mode', 'no', '--port', '6379', '--save', '', '--appendonly', 'no'],
      {},
    );
    const bridgeService = ServiceProcess.start(bridge, 'bridge', process.execPath, ['bridge/main.ts'], {
      // The journeys stream to nginx-rtmp on the clients host, an address of the test network (198.18.0.0/15, reserved
      // for benchmarks): refused unless allowed, as an operator allows an ingest of their own through compose.
      // Dial-out (journey d) calls +1 555 numbers, allowed as an operator allows their own through compose.
      ...composeEnvironment('bridge', { ...variables, STREAM_ALLOWED_HOSTS: clients.address, DIAL_OUT_ALLOWED_PREFIXES: '+1555' }),
      RECORDINGS_DIR: recordings,
      TLS_DIR: path.join(caDir, 'bridge-tls'),
      API_KEYS_FILE: apiKeyFile,
    });
    services.push(redis, bridgeService);
    await bridgeService.waitForLog('bridge ready');
    const gatewayEnv = composeEnvironment('gateway', {
      ...variables,
      // The test network's addresses are not among the private ranges allowed by default.
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
      SIP_TRUNK_URI: `sip:${clients.address}:${TRUNK_PORT}`,
    });
    // No drachtio-server can run here: without DRACHTIO_HOST the gateway runs its embedded engine.
    for (const name of ['DRACHTIO_HOST', 'DRACHTIO_PORT', 'DRACHTIO_SECRET']) delete gatewayEnv[name];
    // The embedded engine does SIP over TLS itself, here with the site's certificate (compose gives
    // drachtio-server, which does its own TLS, none).
    const gatewayCertificate = await siteCa.issue(gateway.address);
    Object.assign(gatewayEnv, { SIP_TLS_CERT: gatewayCertificate.cert, SIP_TLS_KEY: gatewayCertificate.key });
    services.push(
      ServiceProcess.start(gateway, 'gateway', process.execPath, ['gateway/main.ts'], { ...gatewayEnv, BRIDGE_URL: bridgeUrl }),
      ServiceProcess.start(recorder, 'recorder', process.execPath, ['recorder/main.ts'], {
        ...composeEnvironment('recorder', variables),
        BRIDGE_URL: bridgeUrl,
        REDIS_URL: redisUrl,
        RECORDINGS_DIR: recordings,
      }),
    );
    await services[2]!.waitForLog('SIP gateway ready');
    await services[3]!.waitForLog('recorder waiting for jobs');
    // The gateway is in service once it has registered with the bridge for dial-out.
    await waitFor('the gateway registered with the bridge', async () => {
      const health = (await (await fetch(`${bridgeUrl}/healthz`)).json()) as { sipGateways: unknown[] };
      return health.sipGateways.length === 1;
    }, 20_000);
  }, 120_000);

  afterAll(async () => {
    for (const service of services.reverse()) await service.stop();
    await network?.destroy();
    fs.rmSync(recordings, { recursive: true, force: true });
    fs.rmSync(caDir, { recursive: true, force: true });
  });

  meetingJourneys({
    webUrl: () => `https://${hosts.bridge.address}:8443`,
    operator: () => readApiKeyFile(apiKeyFile),
    browserArgs: () => [`--ignore-certificate-errors-spki-list=${bridgeSpki}`],
    sipHost: () => hosts.gateway.address,
    sipTlsCa: () => siteCa.certificate,
    clients: () => hosts.clients,
    trunkPort: TRUNK_PORT,
    streamCa: () => ingestCa,
  });

  edgeJourneys({
    webUrl: () => `https://${hosts.bridge.address}:8443`,
    browserArgs: () => [`--ignore-certificate-errors-spki-list=${bridgeSpki}`],
    sipHost: () => hosts.gateway.address,
    clients: () => hosts.clients,
    restricted: () => hosts.restricted,
    natPhone: () => natPhone,
    natTranslations: () => TestNetwork.natTranslations(natRouter),
  });
});
