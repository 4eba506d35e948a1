// A service's trust in the bridge's certificate: real HTTPS and WSS servers
// with certificates of a CA of the test's own, reached with Node's own fetch
// and WebSocket, as the gateway and the recorder reach the bridge.
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { chromiumTrustArgs, trustBridge, spkiSha256 } from '../../protocol/bridgeTrust.ts';
import { freePort } from '../helpers/ports.ts';
import { TestCa } from '../helpers/testCa.ts';

describe('services trusting the bridge over HTTPS', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-trust-'));
  const servers: https.Server[] = [];
  let ca: TestCa;
  let bridgeUrl: string;
  let otherUrl: string;
  let strangerUrl: string;
  let leaf: crypto.X509Certificate;

  async function serve(cert: { cert: string; key: string }): Promise<string> {
    const server = https.createServer({ cert: fs.readFileSync(cert.cert), key: fs.readFileSync(cert.key) }, (_request, response) => response.end('ok'));
    new WebSocketServer({ server, path: '/ws' }).on('connection', (socket) => socket.send('hello'));
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    servers.push(server);
    return `https://127.0.0.1:${port}`;
  }

  const fetchStatus = (url: string) => fetch(url).then((r) => r.status, (error: Error) => String((error.cause as Error | undefined)?.message ?? error.message));
  const wsGreeting = (url: string) =>
    new Promise<string>((resolve) => {
      const socket = new WebSocket(`${url.replace(/^https/, 'wss')}/ws`);
      socket.onmessage = (event) => (resolve(String(event.data)), socket.close());
      socket.onerror = () => resolve('error');
    });

  beforeAll(async () => {
    ca = await TestCa.create(path.join(dir, 'ca'), 'Site CA');
    const cert = await ca.issue('127.0.0.1');
    leaf = new crypto.X509Certificate(fs.readFileSync(cert.cert));
    bridgeUrl = await serve(cert);
    otherUrl = await serve(await ca.issue('127.0.0.1'));
    strangerUrl = await serve(await (await TestCa.create(path.join(dir, 'other-ca'), 'Other CA')).issue('127.0.0.1'));
  });

  afterAll(() => {
    for (const server of servers) server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a bridge whose certificate nothing trusted signed, and says why', async () => {
    expect(await fetchStatus(bridgeUrl)).toMatch(/certificate/);
    expect(await wsGreeting(bridgeUrl)).toBe('error');
    await expect(chromiumTrustArgs(bridgeUrl, { caFile: undefined, insecure: false })).resolves.toEqual([]);
    const stranger = await TestCa.create(path.join(dir, 'stranger'), 'Stranger CA');
    await expect(chromiumTrustArgs(bridgeUrl, { caFile: stranger.certificate, insecure: false })).rejects.toThrow(/certificate/);
  });

  it('trusts it with BRIDGE_CA_FILE, over fetch and WebSocket, and every other bridge with a certificate of that CA; no other CA', async () => {
    trustBridge(bridgeUrl, { caFile: ca.certificate, insecure: false });
    expect(await fetchStatus(bridgeUrl)).toBe(200);
    expect(await wsGreeting(bridgeUrl)).toBe('hello');
    // Another bridge of the deployment (a redirect, a failover) with a certificate of the same CA.
    expect(await fetchStatus(otherUrl)).toBe(200);
    expect(await wsGreeting(otherUrl)).toBe('hello');
    // A certificate of a CA nobody configured is still refused.
    expect(await fetchStatus(strangerUrl)).toMatch(/certificate/);
    // The recorder's Chromium gets the key of the very certificate the bridge shows.
    expect(await chromiumTrustArgs(bridgeUrl, { caFile: ca.certificate, insecure: false })).toEqual([`--ignore-certificate-errors-spki-list=${spkiSha256(leaf)}`]);
  });

  it('skips the check only when told to (BRIDGE_TLS_INSECURE), and for that bridge only', async () => {
    trustBridge(strangerUrl, { caFile: undefined, insecure: true });
    expect(await fetchStatus(strangerUrl)).toBe(200);
    expect(await fetchStatus(otherUrl)).toMatch(/certificate/);
    expect(await chromiumTrustArgs(strangerUrl, { caFile: undefined, insecure: true })).toEqual(['--ignore-certificate-errors']);
  });
});
