import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../common/logger.ts';
import type { Screening } from '../sip-engine/EngineContext.ts';
import type { SipMessage } from '../sip-engine/SipMessage.ts';
import type { Peer } from '../sip-engine/SipTransport.ts';
import { isScannerUserAgent } from './scannerUserAgents.ts';
import { SharedBlocklist } from './SharedBlocklist.ts';
import { SourceBlocklist } from './SourceBlocklist.ts';
import { isLimitedMethod, type LimitedMethod, SourceRateLimits } from './SourceRateLimits.ts';

export interface SipEdgeSettings {
  perSecond: Record<LimitedMethod, number>;
  /** Addresses tracked at once, by the rate limits and by the block list each. */
  maxSources: number;
  block: { failures: number; windowSeconds: number; seconds: number };
  redisUrl: string | undefined;
}

/** What a source got wrong: digest credentials or an address refused, a PIN, a room password. */
export type Failure = 'auth' | 'pin' | 'password';

/**
 * Flood and brute-force control at the SIP edge, run by the embedded engine
 * on each new request before a transaction or the app exists for it:
 * scanners are dropped unanswered, blocked sources get a stateless 403 and
 * sources over their rate a stateless 503 with Retry-After. The call flow
 * reports failures (`failed`), which block a source that fails too often.
 *
 * A blocked source is answered 403 rather than ignored: the refusal costs no
 * more than the request, and an honest but misconfigured PBX behind that
 * address sees why its calls fail instead of timing out.
 */
export class SipEdge {
  readonly #rates: SourceRateLimits;
  readonly #blocklist: SourceBlocklist;
  #shared: SharedBlocklist | undefined;
  readonly #logger: Logger;
  readonly #rateLimited: Counter<'method'>;
  readonly #refusedBlocked: Counter;
  readonly #blocks: Counter<'failure'>;
  readonly #scanners: Counter;
  readonly #tcpClosed: Counter<'why'>;

  private constructor(settings: SipEdgeSettings, registry: Registry, logger: Logger) {
    this.#logger = logger;
    this.#rates = new SourceRateLimits({ perSecond: settings.perSecond, maxSources: settings.maxSources });
    this.#blocklist = new SourceBlocklist({
      failuresToBlock: settings.block.failures,
      windowMs: settings.block.windowSeconds * 1000,
      blockMs: settings.block.seconds * 1000,
      maxSources: settings.maxSources,
    });
    const registers = [registry];
    this.#rateLimited = new Counter({ name: 'gateway_sip_rate_limited_total', help: 'New SIP requests refused 503 for their source going over its rate', labelNames: ['method'], registers });
    this.#refusedBlocked = new Counter({ name: 'gateway_sip_blocked_requests_total', help: 'New SIP requests refused 403 from blocked sources', registers });
    this.#blocks = new Counter({ name: 'gateway_sip_sources_blocked_total', help: 'Sources blocked here, by the failure that tipped them over', labelNames: ['failure'], registers });
    this.#scanners = new Counter({ name: 'gateway_sip_scanner_requests_dropped_total', help: 'SIP requests from scanner user agents dropped unanswered', registers });
    this.#tcpClosed = new Counter({ name: 'gateway_sip_tcp_connections_closed_total', help: 'SIP TCP connections closed over the per-source cap or idle', labelNames: ['why'], registers });
    const blocklist = this.#blocklist;
    const rates = this.#rates;
    new Gauge({ name: 'gateway_sip_blocked_sources', help: 'Sources blocked now (here or shared)', registers, collect() { this.set(blocklist.blockedCount); } });
    new Gauge({ name: 'gateway_sip_rate_tracked_sources', help: 'Sources whose request rates are tracked', registers, collect() { this.set(rates.trackedSources); } });
  }

  /** With a Redis URL, blocks are shared with the other gateways on it. */
  static start(settings: SipEdgeSettings, registry: Registry, logger: Logger): SipEdge {
    const edge = new SipEdge(settings, registry, logger);
    if (settings.redisUrl) edge.#shared = SharedBlocklist.connect(settings.redisUrl, edge.#blocklist, logger);
    return edge;
  }

  /** The engine's verdict on a new request (see EngineContext's Screening). */
  readonly screen = (request: SipMessage, source: Peer): Screening => {
    if (isScannerUserAgent(request.get('user-agent'))) {
      this.#scanners.inc();
      return { action: 'drop' };
    }
    if (this.#blocklist.isBlocked(source.address)) {
      this.#refusedBlocked.inc();
      return { action: 'refuse', status: 403, reason: 'Forbidden - source blocked' };
    }
    const method = request.method ?? '';
    if (!isLimitedMethod(method)) return { action: 'pass' };
    const verdict = this.#rates.take(source.address, method);
    if (verdict.ok) return { action: 'pass' };
    this.#rateLimited.inc({ method });
    return { action: 'refuse', status: 503, reason: 'Service Unavailable - rate limited', retryAfterSeconds: verdict.retryAfterSeconds };
  };

  /** Counts a failure from `address`; true when the source is (now) blocked and its call should end. */
  failed(address: string, failure: Failure): boolean {
    const until = this.#blocklist.fail(address);
    if (until === undefined) return this.#blocklist.isBlocked(address);
    this.#blocks.inc({ failure });
    this.#logger.warn({ address, failure, until: new Date(until).toISOString() }, 'SIP source blocked after repeated failures');
    this.#shared?.share(address, until);
    return true;
  }

  readonly tcpClosed = (why: 'overLimit' | 'idle', source: Peer): void => {
    this.#tcpClosed.inc({ why });
    this.#logger.debug({ why, from: `${source.address}:${source.port}` }, 'SIP TCP connection closed by the edge limits');
  };

  async close(): Promise<void> {
    await this.#shared?.close();
  }
}
