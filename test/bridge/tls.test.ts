// HTTPS: the certificate module (self-signed for this host, kept, key 0600,
// replaced for new connections), TLS_CERT/TLS_KEY errors at startup, and
// HTTP_PORT's redirect (browsers elsewhere to HTTPS; this host and /healthz stay).
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { defaultAnnouncedAddress } from '../../common/config.ts';
import { hostNames, selfSignedCertificate } from '../../bridge/tls/selfSigned.ts';
import { certificateNames, parseCertificatePair, TlsIdentity } from '../../bridge/tls/TlsIdentity.ts';
import { startBridge } from '../helpers/bridge.ts';
import { configError } from '../helpers/config.ts';
import { freePort } from '../helpers/ports.ts';
import { operatorAuthorization } from '../helpers/rest.ts';
import { waitFor } from '../helpers/wait.ts';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tls-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** The certificate a new TLS connection to `port` is given. */
function presented(port: number, servername = 'localhost'): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(new crypto.X509Certificate(socket.getPeerCertificate().raw));
      socket.end();
    });
    socket.once('error', reject);
  });
}

/** A plain HTTP GET from `localAddress` (not following redirects). */
function get(url: string, localAddress?: string, headers?: http.OutgoingHttpHeaders): Promise<{ status: number; location?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { localAddress, headers }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, location: res.headers.location });
      })
      .once('error', reject);
  });
}

describe('the self-signed certificate', () => {
  it('covers this host, is kept with its key readable by the owner only, and is made anew for a new name', async () => {
    const dir = path.join(scratch, 'self-signed');
    const names = hostNames(['meet.example.com']);
    expect(names).toContain('localhost');
    expect(names).toContain(os.hostname());
    expect(names).toContain('127.0.0.1');
    const first = await selfSignedCertificate(dir, names);
    expect(first.created).toBe(true);
    const certificate = parseCertificatePair(first.pair);
    for (const name of ['localhost', 'meet.example.com', defaultAnnouncedAddress('0.0.0.0')]) expect(certificate.checkHost(name) ?? certificate.checkIP(name)).toBeTruthy();
    expect(fs.statSync(path.join(dir, 'self-signed.key')).mode & 0o777).toBe(0o600);

    const again = await selfSignedCertificate(dir, names);
    expect(again).toEqual({ pair: first.pair, created: false, files: { cert: path.join(dir, 'self-signed.crt'), key: path.join(dir, 'self-signed.key') } });

    const moved = await selfSignedCertificate(dir, [...names, 'other.example.com']);
    expect(moved.created).toBe(true);
    expect(certificateNames(parseCertificatePair(moved.pair))).toContain('other.example.com');
  });

  it('refuses a key that is not the certificate’s', async () => {
    const a = await selfSignedCertificate(path.join(scratch, 'a'), ['a.example.com']);
    const b = await selfSignedCertificate(path.join(scratch, 'b'), ['b.example.com']);
    expect(() => new TlsIdentity({ cert: a.pair.cert, key: b.pair.key }, 'files')).toThrow(/does not belong/);
  });
});

describe('TLS_CERT and TLS_KEY', () => {
  let certFile: string;
  let keyFile: string;
  let otherKeyFile: string;

  beforeAll(async () => {
    const { pair } = await selfSignedCertificate(path.join(scratch, 'files'), ['files.example.com']);
    const other = await selfSignedCertificate(path.join(scratch, 'other'), ['other.example.com']);
    certFile = path.join(scratch, 'files', 'self-signed.crt');
    keyFile = path.join(scratch, 'files', 'self-signed.key');
    otherKeyFile = path.join(scratch, 'other', 'self-signed.key');
    expect(pair.key).not.toBe(other.pair.key);
  });

  it('names the setting that is missing, unreadable or does not match', () => {
    expect(configError(loadBridgeConfig, { TLS_CERT: certFile })).toMatch(/TLS_KEY: set both TLS_CERT and TLS_KEY/);
    expect(configError(loadBridgeConfig, { TLS_CERT: path.join(scratch, 'nope.crt'), TLS_KEY: keyFile })).toMatch(/TLS_CERT: cannot read it \(ENOENT\)/);
    expect(configError(loadBridgeConfig, { TLS_CERT: keyFile, TLS_KEY: keyFile })).toMatch(/TLS_CERT: not a PEM certificate/);
    expect(configError(loadBridgeConfig, { TLS_CERT: certFile, TLS_KEY: otherKeyFile })).toMatch(/TLS_KEY: the key does not belong to the certificate/);
    expect(configError(loadBridgeConfig, { TLS_CERT: certFile, TLS_KEY: keyFile, HTTP_ONLY: 'true' })).toContain('HTTP_ONLY');
    expect(configError(loadBridgeConfig, { ACME_EMAIL: 'ops@example.com' })).toContain('PUBLIC_HOSTNAME');
    expect(loadBridgeConfig({ TLS_CERT: certFile, TLS_KEY: keyFile }).tls?.files).toEqual({ cert: certFile, key: keyFile });
    // The split bridge stays on plain HTTP unless given a certificate or HTTP_ONLY=false.
    expect(loadBridgeConfig({}).tls).toBeUndefined();
    expect(loadBridgeConfig({ HTTP_ONLY: 'false' }).tls?.port).toBe(8443);
  });

  it('stops the all-in-one at startup with a message naming the setting, and never prints the key', () => {
    const result = spawnSync(process.execPath, ['allInOne.ts'], {
      env: { ...process.env, TLS_CERT: certFile, TLS_KEY: otherKeyFile },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('TLS_KEY');
    expect(result.stderr).toContain('does not belong');
    expect(result.stderr + result.stdout).not.toContain('PRIVATE KEY');
  });
});

describe('a bridge serving HTTPS', () => {
  let bridge: Bridge;
  let httpPort: number;
  let httpsPort: number;
  const dir = path.join(scratch, 'bridge');
  // An address of this host other than loopback: a request from it is one from "elsewhere".
  const lan = defaultAnnouncedAddress('0.0.0.0');

  beforeAll(async () => {
    httpPort = await freePort();
    httpsPort = await freePort();
    bridge = await startBridge({ HTTP_HOST: '0.0.0.0', HTTP_PORT: String(httpPort), HTTPS_PORT: String(httpsPort), HTTP_ONLY: 'false', TLS_DIR: dir });
  });

  afterAll(async () => {
    await bridge?.stop();
  });

  it('serves the web client, REST and signaling over HTTPS with the self-signed certificate', async () => {
    const certificate = await presented(httpsPort);
    expect(certificate.fingerprint256).toBe(bridge.tls!.identity.summary.sha256);
    expect(certificate.fingerprint256).toBe(new crypto.X509Certificate(fs.readFileSync(path.join(dir, 'self-signed.crt'))).fingerprint256);
    const agent = { ca: fs.readFileSync(path.join(dir, 'self-signed.crt'), 'utf8'), headers: operatorAuthorization() };
    const status = await new Promise<number>((resolve, reject) => {
      https
        .get(`https://localhost:${httpsPort}/api/rooms`, agent, (res) => {
          res.resume();
          resolve(res.statusCode!);
        })
        .once('error', reject);
    });
    expect(status).toBe(200);
  });

  it('sends browsers elsewhere to HTTPS, and keeps /healthz and this host on HTTP', async () => {
    expect(lan).not.toBe('127.0.0.1');
    expect(await get(`http://${lan}:${httpPort}/standup?x=1`, lan)).toEqual({ status: 308, location: `https://${lan}:${httpsPort}/standup?x=1` });
    expect((await get(`http://${lan}:${httpPort}/healthz`, lan)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${httpPort}/api/rooms`, undefined, operatorAuthorization())).status).toBe(200);
  });

  it('gives new connections a replaced certificate without a restart', async () => {
    const before = await presented(httpsPort);
    const { pair } = await selfSignedCertificate(path.join(scratch, 'replacement'), ['renewed.example.com']);
    bridge.tls!.identity.replace(pair, 'files');
    const after = await waitFor('the new certificate on a new connection', async () => {
      const certificate = await presented(httpsPort);
      return certificate.fingerprint256 !== before.fingerprint256 ? certificate : null;
    });
    expect(after.checkHost('renewed.example.com')).toBe('renewed.example.com');
  });
});
