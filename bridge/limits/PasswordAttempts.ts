// Wrong room passwords are counted per socket, per source address and per
// room, so a guesser gets a handful of tries a minute however it spreads
// them: over sockets (the address counts), over addresses (the room counts).
// Limits grow: a few a minute, then fewer an hour. rate-limiter-flexible
// keeps the counters (in memory now; it has a Redis store for when bridges
// share rooms).
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

interface Tier {
  limiter: RateLimiterMemory;
  key: (attempt: Attempt) => string;
}

export interface Attempt {
  socket: string;
  address: string;
  room: string;
}

export class TooManyAttempts extends Error {
  constructor(retryAfterMs: number) {
    super(`too many wrong passwords: try again in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} s`);
    this.name = 'TooManyAttempts';
  }
}

const tier = (points: number, durationSeconds: number, key: Tier['key']): Tier => ({
  limiter: new RateLimiterMemory({ points, duration: durationSeconds }),
  key,
});

export class PasswordAttempts {
  readonly #tiers: Tier[] = [
    tier(3, 60, (a) => `socket:${a.socket}`),
    tier(5, 60, (a) => `address:${a.address}`),
    tier(20, 3600, (a) => `address-hour:${a.address}`),
    tier(30, 60, (a) => `room:${a.room}`),
  ];

  /** Throws TooManyAttempts when any counter of this attempt is spent, before the password is compared. */
  async check(attempt: Attempt): Promise<void> {
    const waits = await Promise.all(
      this.#tiers.map(async ({ limiter, key }) => {
        const state = await limiter.get(key(attempt));
        return state && state.consumedPoints >= limiter.points ? state.msBeforeNext : 0;
      }),
    );
    const wait = Math.max(...waits);
    if (wait > 0) throw new TooManyAttempts(wait);
  }

  /** Counts a wrong password. */
  async failed(attempt: Attempt): Promise<void> {
    await Promise.all(
      this.#tiers.map(({ limiter, key }) =>
        limiter.consume(key(attempt)).catch((error: unknown) => {
          // Already over the limit: the next check refuses; nothing more to count.
          if (!(error instanceof RateLimiterRes)) throw error;
        }),
      ),
    );
  }
}
