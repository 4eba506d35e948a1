import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TestCa } from '../helpers/testCa.ts';
import { configError as expectConfigError } from '../helpers/config.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';

const configError = (env: Record<string, string>) => expectConfigError(loadGatewayConfig, env);

describe('gateway configuration', () => {
  it('has all-in-one defaults: embedded engine, SIP on 5060, bridge on this host', () => {
    const config = loadGatewayConfig({});
    expect(config.engine.external).toBe(false);
    expect(config.sip.port).toBe(5060);
    expect(config.bridge.signalingUrl).toBe('ws://127.0.0.1:8080/ws');
    expect(config.bridge.region).toBeUndefined(); // its joins name no region: the bridge reached (or the room's home) serves them
    expect(config.codecs).toEqual(['PCMU', 'PCMA', 'opus']);
    // Below Linux's ephemeral range; the bridge-facing address follows the route to the bridge unless set.
    expect(config.rtp).toMatchObject({ portMin: 12000, portMax: 13999, bridgeFacingAddress: undefined });
  });

  it('binds the bridge-facing sockets to GATEWAY_MEDIA_ADDRESS, which must be an address of this host', () => {
    expect(loadGatewayConfig({ GATEWAY_MEDIA_ADDRESS: '127.0.0.1' }).rtp.bridgeFacingAddress).toBe('127.0.0.1');
    expect(configError({ GATEWAY_MEDIA_ADDRESS: '198.51.100.7' })).toContain('GATEWAY_MEDIA_ADDRESS: not an address of this host');
  });

  it('switches to a drachtio-server by configuration only', () => {
    const config = loadGatewayConfig({ DRACHTIO_HOST: 'drachtio.internal', DRACHTIO_SECRET: 's3cret' });
    expect(config.engine).toEqual({ external: true, host: 'drachtio.internal', port: 9022, secret: 's3cret' });
  });

  it('names every bad setting and the value it got', () => {
    const message = configError({
      SIP_PORT: 'five',
      SIP_ALLOWED_SOURCES: '10.0.0.0/33',
      SIP_CODECS: 'PCMU,G729',
      SIP_DID_ROOMS: '15550100',
      BRIDGE_URL: 'ftp://bridge',
      GATEWAY_REGION: 'eu west',
    });
    for (const name of ['SIP_PORT', 'SIP_ALLOWED_SOURCES', 'SIP_CODECS', 'SIP_DID_ROOMS', 'BRIDGE_URL', 'GATEWAY_REGION']) expect(message).toContain(name);
    expect(message).toContain('"five"');
  });

  it('wants both digest credentials, and a trunk to register with', () => {
    expect(configError({ SIP_AUTH_USERNAME: 'trunk' })).toContain('SIP_AUTH_PASSWORD');
    expect(configError({ SIP_REGISTER: 'true' })).toContain('SIP_REGISTER');
  });

  it('listens for SIP over TLS only with a usable certificate and key, naming the setting at fault', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-tls-config-'));
    try {
      const ca = await TestCa.create(dir);
      const [one, two] = [await ca.issue('127.0.0.1'), await ca.issue('127.0.0.2')];
      expect(loadGatewayConfig({}).sip.tls).toEqual({ listen: undefined, ca: undefined });
      expect(loadGatewayConfig({ SIP_TLS_CERT: one.cert, SIP_TLS_KEY: one.key, SIP_TLS_CA: ca.certificate }).sip.tls).toEqual({
        listen: { port: 5061, cert: one.cert, key: one.key },
        ca: ca.certificate,
      });
      expect(configError({ SIP_TLS_CERT: one.cert })).toContain('SIP_TLS_KEY: set both SIP_TLS_CERT and SIP_TLS_KEY, or neither');
      expect(configError({ SIP_TLS_CERT: path.join(dir, 'missing.pem'), SIP_TLS_KEY: one.key })).toContain('SIP_TLS_CERT: cannot read');
      expect(configError({ SIP_TLS_CERT: one.cert, SIP_TLS_KEY: two.key })).toMatch(/SIP_TLS_KEY: not a usable certificate and key: .*key values mismatch/);
      expect(configError({ SIP_TLS_CERT: one.key, SIP_TLS_KEY: one.key })).toContain('SIP_TLS_CERT: not a usable certificate and key');
      expect(configError({ SIP_TLS_CA: path.join(dir, 'missing-ca.pem') })).toContain('SIP_TLS_CA: cannot read');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('offers SRTP on dial-out over a TLS trunk, or everywhere when SIP_SRTP=required', () => {
    expect(loadGatewayConfig({}).srtp).toEqual({ required: false, offer: false });
    expect(loadGatewayConfig({ SIP_TRUNK_URI: 'sip:trunk.example;transport=tcp' }).srtp).toEqual({ required: false, offer: false });
    expect(loadGatewayConfig({ SIP_TRUNK_URI: 'sip:trunk.example;transport=tls' }).srtp).toEqual({ required: false, offer: true });
    expect(loadGatewayConfig({ SIP_TRUNK_URI: 'sips:trunk.example' }).srtp).toEqual({ required: false, offer: true });
    expect(loadGatewayConfig({ SIP_SRTP: 'required' }).srtp).toEqual({ required: true, offer: true });
    expect(configError({ SIP_SRTP: 'always' })).toContain('SIP_SRTP');
  });
});
