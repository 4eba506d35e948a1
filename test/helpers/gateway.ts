import type { Bridge } from '../../bridge/Bridge.ts';
import { createLogger } from '../../common/logger.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { Gateway } from '../../gateway/Gateway.ts';
import { TEST_SERVICE_SECRET } from './bridge.ts';
import { freePort, freePortRange } from './ports.ts';
import { externalEngineBin, startSipEngine } from './srfApp.ts';

export interface TestGateway {
  gateway: Gateway;
  sipPort: number;
  /** sip:<user>@127.0.0.1:<port> */
  uri(user: string): string;
}

/**
 * A real gateway in this process on free loopback ports, against `bridge`. Its SIP engine is the
 * embedded one, started by the gateway as in production, or with SIP_ENGINE_BIN set a drachtio-server
 * of its own (startSipEngine), which `gateway.stop()` also stops.
 */
export async function startGateway(bridge: Pick<Bridge, 'url'>, env: Record<string, string> = {}): Promise<TestGateway> {
  const logLevel = process.env.TEST_LOG_LEVEL ?? 'warn';
  const external = externalEngineBin ? await startSipEngine(createLogger(logLevel, 'sip-engine')) : undefined;
  const sipPort = external?.sipPort ?? (await freePort());
  const engineEnv = external
    ? { DRACHTIO_HOST: external.control.host, DRACHTIO_PORT: String(external.control.port), DRACHTIO_SECRET: external.control.secret }
    : { DRACHTIO_PORT: String(await freePort()) };
  const rtpBase = await freePortRange(64);
  let gateway: Gateway;
  try {
    const config = loadGatewayConfig({
      BRIDGE_URL: bridge.url,
      SIP_HOST: '127.0.0.1',
      SIP_PORT: String(sipPort),
      ...engineEnv,
      RTP_HOST: '127.0.0.1',
      RTP_PUBLIC_ADDRESS: '127.0.0.1',
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 63),
      LOG_LEVEL: logLevel,
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      ...env,
    });
    gateway = await Gateway.start(config, createLogger(config.logLevel, 'gateway'));
  } catch (error) {
    await external?.close();
    throw error;
  }
  if (external) {
    // Tests stop a gateway with gateway.stop(); its drachtio-server goes with it.
    const stop = gateway.stop.bind(gateway);
    gateway.stop = async () => {
      try {
        await stop();
      } finally {
        await external.close();
      }
    };
  }
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
