import Srf from 'drachtio-srf';
import type { Logger } from '../../bridge/logger.ts';
import { SipEngine } from '../../gateway/sip-engine/SipEngine.ts';
import { freePort } from './ports.ts';

const SECRET = 'bench';

export interface SrfApp {
  srf: Srf;
  sipPort: number;
  close(): Promise<void>;
}

/** A drachtio-srf app on its own embedded SIP engine (the gateway's), on free loopback ports. */
export async function startSrfApp(logger: Logger): Promise<SrfApp> {
  const [sipPort, controlPort] = [await freePort(), await freePort()];
  const engine = await SipEngine.start({ sipHost: '127.0.0.1', sipPort, controlHost: '127.0.0.1', controlPort, secret: SECRET, logger });
  const srf = new Srf();
  await new Promise<void>((resolve, reject) => {
    srf.once('connect', (error: Error | null) => (error ? reject(error) : resolve()));
    srf.connect({ host: '127.0.0.1', port: controlPort, secret: SECRET });
  });
  return {
    srf,
    sipPort,
    async close() {
      srf.disconnect();
      await engine.close();
    },
  };
}

/** An SDP offering or answering PCMU from `port` on loopback. */
export function pcmuSdp(port: number): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
}
