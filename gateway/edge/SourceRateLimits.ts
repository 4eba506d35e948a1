/**
 * Per-source token buckets for the SIP methods a flood uses: INVITE,
 * REGISTER and OPTIONS. Each source address (not port: a flooder picks new
 * ports for free) has a bucket per method that refills at `perSecond` and
 * holds two seconds' worth, so a phone's retry burst passes while a steady
 * flood is held to the rate.
 *
 * Memory is bounded: at most `maxSources` addresses are tracked, least
 * recently seen first out (RecentSources). An evicted source starts again with a full
 * bucket, which only lets a spoofing flood over many addresses through at
 * the rate it already gets from fresh sources.
 */
import { RecentSources } from './RecentSources.ts';

export type LimitedMethod = 'INVITE' | 'REGISTER' | 'OPTIONS';

export interface SourceRateLimitOptions {
  perSecond: Record<LimitedMethod, number>;
  maxSources: number;
  now?: () => number;
}

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  at: number;
}

const BURST_SECONDS = 2;

export function isLimitedMethod(method: string): method is LimitedMethod {
  return method === 'INVITE' || method === 'REGISTER' || method === 'OPTIONS';
}

export class SourceRateLimits {
  readonly #perSecond: Record<LimitedMethod, number>;
  readonly #now: () => number;
  readonly #sources: RecentSources<Partial<Record<LimitedMethod, Bucket>>>;

  constructor(options: SourceRateLimitOptions) {
    this.#perSecond = options.perSecond;
    this.#sources = new RecentSources(options.maxSources);
    this.#now = options.now ?? Date.now;
  }

  get trackedSources(): number {
    return this.#sources.size;
  }

  /** Takes one token from `address`'s bucket for `method`; refused with the seconds until one is back. */
  take(address: string, method: LimitedMethod): RateVerdict {
    const now = this.#now();
    const rate = this.#perSecond[method];
    const capacity = Math.max(1, rate * BURST_SECONDS);
    let buckets = this.#sources.get(address);
    if (!buckets) {
      buckets = {};
      this.#sources.set(address, buckets);
    }

    const bucket = buckets[method] ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    buckets[method] = bucket;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / rate)) };
  }
}
