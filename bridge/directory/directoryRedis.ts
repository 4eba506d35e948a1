// The connection to a deployment's shared Redis, as the room directory and
// the dial-in PINs each hold one: a call made while Redis is away fails at
// once instead of queueing, so nothing a client waits for waits on Redis,
// and the outage is logged once, and its end.
import { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.ts';

/** A call that takes longer is given up (what waited on it goes on without it). */
export const COMMAND_TIMEOUT_MS = 1000;

export class DirectoryRedis {
  readonly redis: Redis;
  readonly #logger: Logger;
  readonly #says: { down: string; back: string };
  /** Whether the last call failed. */
  #failing = false;

  /** `says`: what its user logs when Redis stops answering (what the outage means for it), and when it answers again. */
  constructor(url: string, logger: Logger, says: { down: string; back: string }) {
    this.#logger = logger;
    this.#says = says;
    this.redis = new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS * 3,
    });
    this.redis.on('error', () => {}); // reported by the calls that fail (call), once per outage
  }

  /** Resolves once connected, or when connecting has taken its timeout (the bridge starts anyway; calls fail until Redis answers). */
  async connected(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COMMAND_TIMEOUT_MS * 3);
      this.redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** One round trip to Redis; undefined if it failed (logged once per outage, with `context`). */
  async call<T>(call: () => Promise<T>, context: Record<string, unknown> = {}): Promise<T | undefined> {
    try {
      const result = await call();
      if (this.#failing) this.#logger.info(this.#says.back);
      this.#failing = false;
      return result;
    } catch (error) {
      if (!this.#failing) this.#logger.warn({ err: error, ...context }, this.#says.down);
      this.#failing = true;
      return undefined;
    }
  }
}
