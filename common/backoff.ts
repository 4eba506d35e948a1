// The one retry schedule of every reconnect and re-register loop (bridge
// connection, trunk registration, RTMP relay, ACME orders, the web client's
// reconnect). A loop that lives for the whole process needs a delay it can
// reset on success, not a retry-this-promise helper, so this is a schedule
// rather than p-retry. No Node or DOM imports: the web client uses it too.

export interface BackoffOptions {
  /** The first delay after a failure. */
  firstMs: number;
  /** Delays double up to this. */
  maxMs: number;
  /**
   * Spread each delay by up to this fraction either way (0.2: ±20 %), so
   * clients that lost the same server do not all come back in one burst.
   */
  jitter?: number;
}

export class Backoff {
  readonly #options: Required<BackoffOptions>;
  #failures = 0;

  constructor(options: BackoffOptions) {
    if (!(options.firstMs > 0 && options.maxMs >= options.firstMs)) {
      throw new RangeError(`backoff needs 0 < firstMs <= maxMs (got ${options.firstMs}, ${options.maxMs})`);
    }
    this.#options = { jitter: 0, ...options };
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(random: () => number = Math.random): number {
    const { firstMs, maxMs, jitter } = this.#options;
    // Capped exponent: 2 ** 1000 would be Infinity long before it mattered.
    const base = Math.min(maxMs, firstMs * 2 ** Math.min(this.#failures, 52));
    this.#failures++;
    return Math.round(base * (1 + jitter * (2 * random() - 1)));
  }

  /** A success: the next failure starts again from firstMs. */
  reset(): void {
    this.#failures = 0;
  }
}
