// The quick start as a user meets it: `npm start` on a server, reached at the
// server's own address from another host, as the README says. Nobody but the
// server itself uses its loopback, so every address a service announces to
// another is put to the test (the gateway once announced 127.0.0.1 and sent
// from the server's LAN address, and the bridge dropped the callers' voices).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browser.ts';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { readApiKeyFile } from '../helpers/rest.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';
import { meetingJourneys } from './journeys.ts';
import { spkiSha256 } from '../../protocol/bridgeTrust.ts';

const TRUNK_PORT = 5070;
/** Binds the first pair of the gateway's (12000-) and the recorder's (14000-) default RTP ranges, as another program might. */
const HOLD_PORTS = `
const dgram = require('node:dgram');
let bound = 0;
for (const port of [12000, 12001, 14000, 14001]) dgram.createSocket('udp4').bind(port, () => ++bound === 4 && console.log(JSON.stringify({ msg: 'holding' })));
`;

describe('the all-in-one server (npm start), from another host', () => {
  let network: TestNetwork;
  let server: TestHost;
  let clients: TestHost;
  let product: ServiceProcess;
  let portHolder: ServiceProcess;
  const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-recordings-'));
  const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aio-tls-'));
  /** Where the server keeps the API key it makes on first start (data/api-key.json by default). */
  const apiKeyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'aio-keys-')), 'api-key.json');
  /** The server's self-signed certificate, as it made it on first start. */
  let certificate: crypto.X509Certificate;

  beforeAll(async () => {
    network = await TestNetwork.create({ id: 'aio', subnet: '198.18.1' });
    server = await network.addHost('server', 1);
    clients = await network.addHost('clients', 10);
    // Another program on the server holds the first ports of the gateway's and the recorder's
    // ranges: calls and recordings must take the next free ones.
    portHolder = ServiceProcess.start(server, 'port holder', process.execPath, ['-e', HOLD_PORTS], {});
    await portHolder.waitForLog('holding');
    // The shipped defaults: HTTPS 8443 with a self-signed certificate, HTTP 8080, SIP 5060, a
    // redis-server of its own. Settings only where a real site has its own: the trunk for
    // dial-out and the numbers it may call, the network phones call from (the test network's range is not among the private
    // ones allowed by default), and scratch folders for recordings and the certificate rather
    // than the repository's.
    product = ServiceProcess.start(server, 'npm start', 'npm', ['start', '--silent'], {
      SIP_TRUNK_URI: `sip:${clients.address}:${TRUNK_PORT}`,
      // The numbers the dial-out journey calls (no number is allowed by default).
      DIAL_OUT_ALLOWED_PREFIXES: '+1555',
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
      // The journeys' live stream goes to nginx-rtmp on the clients host, which is not a public address.
      STREAM_ALLOWED_HOSTS: clients.address,
      RECORDINGS_DIR: recordings,
      TLS_DIR: tlsDir,
      API_KEYS_FILE: apiKeyFile,
    });
    await product.waitForLog('recorder ready', 60_000);
    await product.waitForLog('REST API: operator key');
    // Made on first start, readable by the server's user only.
    expect(fs.statSync(apiKeyFile).mode & 0o777).toBe(0o600);
    certificate = new crypto.X509Certificate(fs.readFileSync(path.join(tlsDir, 'self-signed.crt')));
    expect(certificate.checkIP(server.address)).toBe(server.address);
    // This process (REST calls, downloads) trusts it as a user who accepted it would.
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), certificate.toString()]);
    const health = await waitFor('the server healthy at its address', async () => (await fetch(`https://${server.address}:8443/healthz`)).ok);
    expect(health).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await product?.stop();
    await portHolder?.stop();
    fs.rmSync(recordings, { recursive: true, force: true });
    fs.rmSync(tlsDir, { recursive: true, force: true });
    fs.rmSync(path.dirname(apiKeyFile), { recursive: true, force: true });
    await network?.destroy();
  });

  it('speaks SIP over TLS on 5061 with a self-signed certificate for its address, made on first start', async () => {
    const sipCertificate = new crypto.X509Certificate(fs.readFileSync(path.join(tlsDir, 'sip', 'self-signed.crt')));
    expect(sipCertificate.checkIP(server.address)).toBe(server.address);
    expect(fs.statSync(path.join(tlsDir, 'sip', 'self-signed.key')).mode & 0o777).toBe(0o600);
    const socket = tls.connect({ host: server.address, port: 5061, ca: sipCertificate.toString() });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    expect(socket.authorized).toBe(true);
    expect(socket.getPeerX509Certificate()?.fingerprint256).toBe(sipCertificate.fingerprint256);
    socket.destroy();
  });

  it('serves the web client over HTTPS at the server address, and sends plain HTTP there', async () => {
    const response = await fetch(`https://${server.address}:8443/townhall`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('<div id="app"></div>');
    const redirect = await fetch(`http://${server.address}:8080/townhall`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, `https://${server.address}:8443/townhall`]);
  });

  it('over plain HTTP, a browser on another host gets no camera or microphone (why HTTPS is the default)', async () => {
    // The web client itself is redirected to HTTPS now; /healthz is still answered over plain
    // HTTP, on the origin the web client was served from before, so it shows what that page got.
    const browser = await launchBrowser({ host: clients });
    try {
      const page = await browser.newPage();
      await page.goto(`http://${server.address}:8080/healthz`);
      expect(await page.evaluate(() => [window.isSecureContext, typeof navigator.mediaDevices])).toEqual([false, 'undefined']);
    } finally {
      await browser.close();
    }
  });

  meetingJourneys({
    webUrl: () => `https://${server.address}:8443`,
    operator: () => readApiKeyFile(apiKeyFile),
    // Trust the server's certificate as a user who accepted the browser's warning.
    browserArgs: () => [`--ignore-certificate-errors-spki-list=${spkiSha256(certificate)}`],
    sipHost: () => server.address,
    // The self-signed SIP certificate the server made on first start, trusted as a phone's user would.
    sipTlsCa: () => path.join(tlsDir, 'sip', 'self-signed.crt'),
    clients: () => clients,
    trunkPort: TRUNK_PORT,
  });
});
