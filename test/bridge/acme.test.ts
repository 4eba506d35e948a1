// Let's Encrypt by one setting, against Debian's pebble (Let's Encrypt's
// RFC 8555 test CA) validating http-01 for real: it resolves the name through
// pebble-challtestsrv's DNS (to 127.0.0.1) and fetches the challenge from the
// bridge's ACME_HTTP_PORT. Its certificates live seconds, so a renewal comes
// during the test; a name on pebble's blocklist shows a refusal.
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { selfSignedCertificate } from '../../bridge/tls/selfSigned.ts';
import { startBridge } from '../helpers/bridge.ts';
import { freePort } from '../helpers/ports.ts';
import { waitFor } from '../helpers/wait.ts';

const HOSTNAME = 'meet.telebridge.test';
const REFUSED = 'refused.telebridge.test';
/** Pebble's certificates live this long: a third before the end the bridge renews. */
const VALIDITY_SECONDS = 15;

interface LogLine {
  msg: string;
  reason?: string;
  [key: string]: unknown;
}

/** A pino logger whose records a test can read. */
function recordingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return { logger, lines };
}

function presented(port: number, servername: string): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(new crypto.X509Certificate(socket.getPeerCertificate().raw));
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('ACME (pebble)', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'acme-test-'));
  const processes: ChildProcess[] = [];
  let directoryUrl: string;
  let managementUrl: string;
  let pebbleCa: string;
  /** Where pebble fetches http-01 challenges. */
  let challengePort: number;
  const bridges: Bridge[] = [];

  beforeAll(async () => {
    const [acmePort, managementPort, dnsPort, challtestManagement] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Pebble serves its directory over HTTPS only: a certificate of our own for it, trusted by this process.
    const { pair } = await selfSignedCertificate(path.join(scratch, 'pebble-tls'), ['localhost', '127.0.0.1']);
    pebbleCa = pair.cert;
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), pebbleCa]);
    directoryUrl = `https://127.0.0.1:${acmePort}/dir`;
    managementUrl = `https://127.0.0.1:${managementPort}`;
    const config = path.join(scratch, 'pebble.json');
    challengePort = await freePort();
    fs.writeFileSync(
      config,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: path.join(scratch, 'pebble-tls', 'self-signed.crt'),
          privateKey: path.join(scratch, 'pebble-tls', 'self-signed.key'),
          // Where pebble fetches http-01 challenges: the bridges' ACME_HTTP_PORT.
          httpPort: challengePort,
          tlsPort: await freePort(),
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          domainBlocklist: [REFUSED],
          certificateValidityPeriod: VALIDITY_SECONDS,
        },
      }),
    );
    const dns = spawn('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${challtestManagement}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', ''], { stdio: 'ignore' });
    const pebble = spawn('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
      stdio: 'ignore',
    });
    processes.push(dns, pebble);
    await waitFor('pebble to answer', async () => (await fetch(directoryUrl)).ok, 15_000, 100);
  });

  afterAll(async () => {
    for (const bridge of bridges) await bridge.stop();
    for (const child of processes) child.kill();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  async function bridgeFor(hostname: string, acmeHttpPort: number) {
    const { logger, lines } = recordingLogger();
    const httpsPort = await freePort();
    const bridge = await startBridge(
      {
        HTTP_PORT: String(await freePort()),
        HTTPS_PORT: String(httpsPort),
        TLS_DIR: path.join(scratch, hostname),
        PUBLIC_HOSTNAME: hostname,
        ACME_EMAIL: 'ops@telebridge.test',
        ACME_DIRECTORY_URL: directoryUrl,
        ACME_HTTP_PORT: String(acmeHttpPort),
      },
      logger,
    );
    bridges.push(bridge);
    return { bridge, lines, httpsPort };
  }

  it('obtains a certificate over http-01, serves it, and renews it for new connections without a restart', async () => {
    const { httpsPort } = await bridgeFor(HOSTNAME, challengePort);
    const root = await (await fetch(`${managementUrl}/roots/0`)).text();
    const issued = await waitFor('a certificate from pebble', async () => {
      const certificate = await presented(httpsPort, HOSTNAME);
      return certificate.issuer.includes('Pebble') ? certificate : null;
    }, 20_000, 200);
    expect(issued.checkHost(HOSTNAME)).toBe(HOSTNAME);
    expect(issued.subjectAltName).toBe(`DNS:${HOSTNAME}`);
    // The chain the bridge serves leads to pebble's root.
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: HOSTNAME, ca: root }, () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
    const key = fs.statSync(path.join(scratch, HOSTNAME, 'acme.key'));
    const account = fs.statSync(path.join(scratch, HOSTNAME, 'acme-account.key'));
    expect([key.mode & 0o777, account.mode & 0o777]).toEqual([0o600, 0o600]);

    const renewed = await waitFor('a renewed certificate on a new connection', async () => {
      const certificate = await presented(httpsPort, HOSTNAME);
      return certificate.issuer.includes('Pebble') && certificate.serialNumber !== issued.serialNumber ? certificate : null;
    }, VALIDITY_SECONDS * 1000 + 10_000, 200);
    expect(new Date(renewed.validTo).getTime()).toBeGreaterThan(new Date(issued.validTo).getTime());
  }, 60_000);

  it('keeps serving the self-signed certificate when the CA refuses, and logs why', async () => {
    const { bridge, lines, httpsPort } = await bridgeFor(REFUSED, await freePort()); // refused before any validation
    const failure = await waitFor('the refusal in the log', () => lines.find((line) => line.msg.startsWith('ACME certificate order failed')), 20_000, 100);
    expect(failure.reason).toMatch(/blocklist|policy|rejectedIdentifier/i);
    expect(failure.retryInSeconds).toBe(5);
    expect(bridge.tls!.identity.source).toBe('self-signed');
    const certificate = await presented(httpsPort, REFUSED);
    expect(certificate.fingerprint256).toBe(bridge.tls!.identity.summary.sha256);
    expect(certificate.checkHost(REFUSED)).toBe(REFUSED);
    expect(JSON.stringify(lines)).not.toContain('PRIVATE KEY');
  });
});
