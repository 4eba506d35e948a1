// The SIP engine under the tests, started in one place: the embedded engine,
// or, with SIP_ENGINE_BIN=/path/to/drachtio, a drachtio-server of that binary,
// so the same tests can be run against the engine production uses.
import { spawn } from 'node:child_process';
import Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import { SipEngine } from '../../gateway/sip-engine/SipEngine.ts';
import { freePort } from './ports.ts';
import { portBound } from './sipp.ts';
import { waitFor } from './wait.ts';

const SECRET = 'bench';

/** The drachtio-server binary to test against instead of the embedded engine, if set. */
export const externalEngineBin = process.env.SIP_ENGINE_BIN || undefined;

/** A running SIP engine: SIP on 127.0.0.1:sipPort (UDP and TCP), drachtio's wire protocol at `control`. */
export interface TestSipEngine {
  sipPort: number;
  control: { host: string; port: number; secret: string };
  close(): Promise<void>;
}

/** The embedded engine on free loopback ports, or SIP_ENGINE_BIN's drachtio-server. */
export async function startSipEngine(logger: Logger): Promise<TestSipEngine> {
  const [sipPort, controlPort] = [await freePort(), await freePort()];
  const control = { host: '127.0.0.1', port: controlPort, secret: SECRET };
  if (externalEngineBin) return startDrachtio(externalEngineBin, sipPort, control);
  const engine = await SipEngine.start({ sipHost: '127.0.0.1', sipPort, controlHost: control.host, controlPort, secret: SECRET, logger });
  return { sipPort, control, close: () => engine.close() };
}

/**
 * drachtio-server in the foreground (its default), configured by command line only, ready once
 * its admin port listens and its SIP port is bound. It is killed when closed, or with this process.
 */
async function startDrachtio(bin: string, sipPort: number, control: TestSipEngine['control']): Promise<TestSipEngine> {
  const args = ['--contact', `sip:127.0.0.1:${sipPort};transport=udp,tcp`, '--address', control.host, '--port', String(control.port), '--secret', control.secret];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-4000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      output += `\n${error.message}`;
      exited = true;
      resolve();
    });
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const kill = (): void => void (exited || child.kill('SIGKILL'));
  process.once('exit', kill);
  const close = async (): Promise<void> => {
    process.off('exit', kill);
    if (!exited) child.kill('SIGTERM');
    // One that ignores SIGTERM is not left behind.
    const force = setTimeout(kill, 5000);
    await gone;
    clearTimeout(force);
  };
  try {
    await waitFor(
      `drachtio-server (${bin}) listening on ${control.port} with SIP on ${sipPort}`,
      async () => exited || ((await portBound(control.port, 'tcp')) && (await portBound(sipPort, 'udp')) && (await portBound(sipPort, 'tcp'))),
      15_000,
    );
  } catch (error) {
    await close();
    throw new Error(`${(error as Error).message}\n${output}`);
  }
  if (exited) throw new Error(`drachtio-server (${bin} ${args.join(' ')}) exited at start:\n${output}`);
  return { sipPort, control, close };
}

export interface SrfApp {
  srf: Srf;
  sipPort: number;
  close(): Promise<void>;
}

/** A drachtio-srf app on a SIP engine of its own (startSipEngine). */
export async function startSrfApp(logger: Logger): Promise<SrfApp> {
  const engine = await startSipEngine(logger);
  const srf = new Srf();
  try {
    await new Promise<void>((resolve, reject) => {
      srf.once('connect', (error: Error | null) => (error ? reject(error) : resolve()));
      srf.connect(engine.control);
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  return {
    srf,
    sipPort: engine.sipPort,
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
