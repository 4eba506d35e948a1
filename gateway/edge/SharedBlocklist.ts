import net from 'node:net';
import { Redis } from 'ioredis';
import type { Logger } from '../../common/logger.ts';
import type { SourceBlocklist } from './SourceBlocklist.ts';

const CHANNEL = 'telebridge:sip-blocks';
const KEY_PREFIX = 'telebridge:sip-block:';

/**
 * The block list shared by every gateway on one Redis (REDIS_URL): a block
 * is published to the others at once and kept as a key expiring with it, for
 * gateways that start later. Checks stay in memory (they sit on the path of
 * every request); Redis only carries blocks. Without Redis the gateway goes
 * on with its own list, so an outage weakens the sharing, not the gateway.
 */
export class SharedBlocklist {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #logger: Logger;

  private constructor(url: string, logger: Logger) {
    this.#redis = new Redis(url, { maxRetriesPerRequest: 1 });
    // Waits for Redis as long as it takes; ioredis subscribes again after a reconnect.
    this.#subscriber = new Redis(url, { maxRetriesPerRequest: null });
    this.#logger = logger;
    for (const client of [this.#redis, this.#subscriber]) client.on('error', (error) => logger.warn({ err: error }, 'redis (shared SIP block list)'));
  }

  /**
   * Follows the other gateways' blocks into `local`, and on each (re)connection loads the blocks
   * in force (those published while this gateway was away included). Does not wait for Redis:
   * the gateway starts, and blocks, without it.
   */
  static connect(url: string, local: SourceBlocklist, logger: Logger): SharedBlocklist {
    const shared = new SharedBlocklist(url, logger);
    const take = (address: string, until: number) => {
      if (net.isIP(address) && Number.isFinite(until)) local.block(address, until);
    };
    shared.#subscriber.on('message', (_channel: string, text: string) => {
      const [address = '', until = ''] = text.split(' ');
      take(address, Number(until));
    });
    shared.#subscriber.subscribe(CHANNEL).catch((error: unknown) => logger.warn({ err: error }, 'shared SIP blocks not followed'));
    shared.#redis.on('ready', () => {
      shared.#load(take).catch((error: unknown) => logger.warn({ err: error }, 'shared SIP blocks not loaded'));
    });
    return shared;
  }

  async #load(take: (address: string, until: number) => void): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 500);
      cursor = next;
      const values = keys.length > 0 ? await this.#redis.mget(keys) : [];
      keys.forEach((key, i) => take(key.slice(KEY_PREFIX.length), Number(values[i])));
    } while (cursor !== '0');
  }

  share(address: string, until: number): void {
    const ttl = Math.max(1, Math.round(until - Date.now()));
    this.#redis
      .multi()
      .set(`${KEY_PREFIX}${address}`, String(until), 'PX', ttl)
      .publish(CHANNEL, `${address} ${until}`)
      .exec()
      .catch((error: unknown) => this.#logger.warn({ err: error, address }, 'SIP block not shared'));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#redis.quit(), this.#subscriber.quit()]);
  }
}
