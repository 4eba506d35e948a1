import { describe, expect, it } from 'vitest';
import { configError as expectConfigError } from '../helpers/config.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';

const configError = (env: Record<string, string>) => expectConfigError(loadGatewayConfig, env);

describe('gateway configuration', () => {
  it('has all-in-one defaults: embedded engine, SIP on 5060, bridge on this host', () => {
    const config = loadGatewayConfig({});
    expect(config.engine.external).toBe(false);
    expect(config.sip.port).toBe(5060);
    expect(config.bridge.signalingUrl).toBe('ws://127.0.0.1:8080/ws');
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
    });
    for (const name of ['SIP_PORT', 'SIP_ALLOWED_SOURCES', 'SIP_CODECS', 'SIP_DID_ROOMS', 'BRIDGE_URL']) expect(message).toContain(name);
    expect(message).toContain('"five"');
  });

  it('wants both digest credentials, and a trunk to register with', () => {
    expect(configError({ SIP_AUTH_USERNAME: 'trunk' })).toContain('SIP_AUTH_PASSWORD');
    expect(configError({ SIP_REGISTER: 'true' })).toContain('SIP_REGISTER');
  });
});
