/**
 * Sources that failed too often: wrong digest credentials, refused
 * addresses, wrong PINs or room passwords. `failuresToBlock` failures from
 * one address within `windowMs` block it for `blockMs`. Counting is per
 * address over all its calls, so a PIN cannot be guessed three tries per
 * call over unlimited calls.
 *
 * Memory is bounded: at most `maxSources` addresses are counted and at most
 * `maxSources` blocked, least recently seen first out (RecentSources).
 */
import { RecentSources } from './RecentSources.ts';

export interface SourceBlocklistOptions {
  failuresToBlock: number;
  windowMs: number;
  blockMs: number;
  maxSources: number;
  now?: () => number;
}

export class SourceBlocklist {
  readonly #options: SourceBlocklistOptions;
  readonly #now: () => number;
  /** Failure times per address, oldest first. */
  readonly #failures: RecentSources<number[]>;
  /** Blocked addresses and when their block ends. */
  readonly #blocked: RecentSources<number>;

  constructor(options: SourceBlocklistOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#failures = new RecentSources(options.maxSources);
    this.#blocked = new RecentSources(options.maxSources);
  }

  get blockedCount(): number {
    return this.#blocked.size;
  }

  isBlocked(address: string): boolean {
    const until = this.#blocked.get(address);
    if (until === undefined) return false;
    if (until > this.#now()) return true;
    this.#blocked.delete(address);
    return false;
  }

  /** Counts a failure; returns the block's end when this one blocked the source, else undefined. */
  fail(address: string): number | undefined {
    if (this.isBlocked(address)) return undefined;
    const now = this.#now();
    const recent = (this.#failures.get(address) ?? []).filter((at) => at > now - this.#options.windowMs);
    recent.push(now);
    if (recent.length < this.#options.failuresToBlock) {
      this.#failures.set(address, recent);
      return undefined;
    }
    this.#failures.delete(address);
    const until = now + this.#options.blockMs;
    this.block(address, until);
    return until;
  }

  /** Blocks `address` until `until` (ms since the epoch), e.g. a block another gateway shared. */
  block(address: string, until: number): void {
    if (until <= this.#now() || (this.#blocked.get(address) ?? 0) >= until) return;
    this.#blocked.set(address, until);
  }
}
