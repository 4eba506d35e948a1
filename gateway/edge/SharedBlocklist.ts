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
    this.#subscriber = new Redis(url);
    this.#logger = logger;
    for (const client of [this.#redis, this.#subscriber]) client.on('error', (error) => logger.warn({ err: error }, 'redis (shared SIP block list)'));
  }

  /** Subscribes for other gateways' blocks and loads the blocks already in force into `local`. */
  static async connect(url: string, local: SourceBlocklist, logger: Logger): Promise<SharedBlocklist> {
    const shared = new SharedBlocklist(url, logger);
    const take = (address: string, until: number) => {
      if (net.isIP(address) && Number.isFinite(until)) local.block(address, until);
    };
    shared.#subscriber.on('message', (_channel: string, text: string) => {
      const [address = '', until = ''] = text.split(' ');
      take(address, Number(until));
    });
    await shared.#subscriber.subscribe(CHANNEL);
    let cursor = '0';
    do {
      const [next, keys] = await shared.#redis.scan(cursor, 'MATCH', `${KEY_PREFIX}*`, 'COUNT', 500);
      cursor = next;
      const values = keys.length > 0 ? await shared.#redis.mget(keys) : [];
      keys.forEach((key, i) => take(key.slice(KEY_PREFIX.length), Number(values[i])));
    } while (cursor !== '0');
    return shared;
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
