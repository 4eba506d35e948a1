// Whether a bridge is alive: its readiness route answered, by the bridge
// itself. A TCP connection is not enough: a TLS-terminating proxy in front of
// a dead bridge still accepts connections (and answers 502), so the probe
// wants the bridge's own JSON. A dead process behind no proxy has its port
// refused at once; a dead machine leaves the request unanswered until the
// probe gives up.
import { Agent, request } from 'undici';

/**
 * The probe asks whether the bridge is alive, not who it is: a bridge's
 * certificate may be self-signed or of a private CA this bridge does not
 * know, and whoever could pose as it could as well make it look dead. So
 * certificates are not checked here (nothing is sent but the request).
 */
const PROBE_AGENT = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });

/** Whether the bridge at `url` answers GET /healthz as a bridge (ready or degraded) within `timeoutMs`. */
export async function bridgeAnswers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await request(new URL('/healthz', url), { dispatcher: PROBE_AGENT, signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.body.json()) as { status?: unknown };
    return body.status === 'ok' || body.status === 'degraded';
  } catch {
    return false; // refused, reset, timed out, or not a bridge's answer (a proxy's error page)
  }
}
