import type { Bridge } from '../../bridge/Bridge.ts';
import { createLogger } from '../../bridge/logger.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { Gateway } from '../../gateway/Gateway.ts';
import { TEST_SERVICE_SECRET } from './bridge.ts';
import { freePort, freePortRange } from './ports.ts';

export interface TestGateway {
  gateway: Gateway;
  sipPort: number;
  /** sip:<user>@127.0.0.1:<port> */
  uri(user: string): string;
}

/** A real gateway in this process (embedded SIP engine on free loopback ports), against `bridge`. */
export async function startGateway(bridge: Bridge, env: Record<string, string> = {}): Promise<TestGateway> {
  const sipPort = await freePort();
  const rtpBase = await freePortRange(64);
  const config = loadGatewayConfig({
    BRIDGE_URL: bridge.url,
    SIP_HOST: '127.0.0.1',
    SIP_PORT: String(sipPort),
    DRACHTIO_PORT: String(await freePort()),
    RTP_HOST: '127.0.0.1',
    RTP_PUBLIC_ADDRESS: '127.0.0.1',
    RTP_PORT_MIN: String(rtpBase),
    RTP_PORT_MAX: String(rtpBase + 63),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    ...env,
  });
  const gateway = await Gateway.start(config, createLogger(config.logLevel, 'gateway'));
  return { gateway, sipPort, uri: (user) => `sip:${user}@127.0.0.1:${sipPort}` };
}

/** Runs `test` against a gateway of its own (other settings), stopping it afterwards. */
export async function withGateway(bridge: Bridge, env: Record<string, string>, test: (gw: TestGateway) => Promise<void>): Promise<void> {
  const gw = await startGateway(bridge, env);
  try {
    await test(gw);
  } finally {
    await gw.gateway.stop();
  }
}
