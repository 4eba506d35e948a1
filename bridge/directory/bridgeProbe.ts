// Whether a bridge is alive: its readiness route answered, by the bridge
// itself, under the id the directory records for it. A TCP connection is not
// enough: a TLS-terminating proxy in front of a dead bridge still accepts
// connections (and answers 502), so the probe wants the bridge's own JSON;
// and a bridge restarted at the same URL answers too, under a new id (the
// default BRIDGE_ID has a random suffix), without the old one's rooms. A dead
// process behind no proxy has its port refused at once; a dead machine leaves
// the request unanswered until the probe gives up.
import { Agent, request } from 'undici';

/**
 * The probe asks whether the bridge is alive, not who it is: a bridge's
 * certificate may be self-signed or of a private CA this bridge does not
 * know, and whoever could pose as it could as well make it look dead. So
 * certificates are not checked here (nothing is sent but the request).
 */
const PROBE_AGENT = new Agent({ connect: { rejectUnauthorized: false }, pipelining: 0 });
/** A bridge's /healthz answer is well under this; anything longer is not one, and is not read on. */
export const MAX_HEALTH_BYTES = 8 * 1024;

/** A bridge as the directory records it. */
export interface ProbedBridge {
  id: string;
  url: string;
}

/**
 * Whether a /healthz answer is the bridge `id`'s: ready (2xx) or degraded
 * (503, a media worker down: its rooms still live), as its JSON says, under
 * that id.
 */
export function isBridgeHealth(statusCode: number, body: string, id: string): boolean {
  if (!((statusCode >= 200 && statusCode < 300) || statusCode === 503)) return false;
  try {
    const health = JSON.parse(body) as { status?: unknown; bridgeId?: unknown } | null;
    return (health?.status === 'ok' || health?.status === 'degraded') && health.bridgeId === id;
  } catch {
    return false; // not JSON: a proxy's error page
  }
}

/** Whether `bridge` answers GET /healthz as itself (isBridgeHealth) within `timeoutMs`. */
export async function bridgeAnswers(bridge: ProbedBridge, timeoutMs: number): Promise<boolean> {
  try {
    const response = await request(new URL('/healthz', bridge.url), { dispatcher: PROBE_AGENT, signal: AbortSignal.timeout(timeoutMs) });
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > MAX_HEALTH_BYTES) {
        response.body.destroy();
        return false;
      }
      chunks.push(chunk);
    }
    return isBridgeHealth(response.statusCode, Buffer.concat(chunks).toString('utf8'), bridge.id);
  } catch {
    return false; // refused, reset, timed out
  }
}

/**
 * Verdicts on bridges, one probe per bridge at a time: every failover join of
 * a dead bridge's rooms asks (any admitted client can say it lost its
 * bridge), and a burst of them, or of one room's clients, makes one probe,
 * whose verdict the joins of the next `cacheMs` share. Bounded: at most `max`
 * bridges are remembered (the oldest verdicts go first; ids come from Redis).
 */
export class BridgeVerdicts {
  readonly #probe: (bridge: ProbedBridge) => Promise<boolean>;
  readonly #cacheMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** By bridge id, oldest first: the probe (pending or settled), of which URL, and until when its verdict holds (Infinity while pending). */
  readonly #verdicts = new Map<string, { url: string; alive: Promise<boolean>; until: number }>();

  constructor(probe: (bridge: ProbedBridge) => Promise<boolean>, { cacheMs, max, now = () => performance.now() }: { cacheMs: number; max: number; now?: () => number }) {
    this.#probe = probe;
    this.#cacheMs = cacheMs;
    this.#max = max;
    this.#now = now;
  }

  /** Whether `bridge` answers: the pending probe's verdict, or a fresh one's, or a new probe's. */
  alive(bridge: ProbedBridge): Promise<boolean> {
    const known = this.#verdicts.get(bridge.id);
    if (known && known.url === bridge.url && this.#now() < known.until) return known.alive;
    this.#verdicts.delete(bridge.id); // re-inserted last: the map stays oldest first
    if (this.#verdicts.size >= this.#max) this.#verdicts.delete(this.#verdicts.keys().next().value!);
    const entry = { url: bridge.url, alive: this.#probe(bridge), until: Infinity };
    this.#verdicts.set(bridge.id, entry);
    const settled = () => {
      entry.until = this.#now() + this.#cacheMs;
    };
    entry.alive.then(settled, settled);
    return entry.alive;
  }
}
