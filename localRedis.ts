// The Redis the all-in-one queues recordings on when REDIS_URL is unset:
// whatever already answers on 127.0.0.1:6379 (Debian's redis-server service,
// or one someone else started), else a redis-server of its own there,
// persisting to data/redis and stopped with the server (or, if the server is
// killed, by the kernel: it gets SIGTERM and saves).
import fs from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from './common/logger.ts';
import { isInstalled, lastLines, SupervisedProcess } from './common/SupervisedProcess.ts';

const HOST = '127.0.0.1';
const PORT = 6379;
export const LOCAL_REDIS_URL = `redis://${HOST}:${PORT}`;

const WAY_OUT = 'or set REDIS_URL=redis://host:port to use a Redis of your own';

/** Why there is no local Redis; the message says what to do about it. */
export class LocalRedisError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRedisError';
  }
}

export class LocalRedis {
  readonly url = LOCAL_REDIS_URL;
  /** Ours to stop; null when someone else's server was already there. */
  readonly #process: SupervisedProcess | null;
  readonly #logger: Logger;

  private constructor(process: SupervisedProcess | null, logger: Logger) {
    this.#process = process;
    this.#logger = logger;
  }

  /** Uses the Redis on 127.0.0.1:6379, or starts one there persisting to `dir`, and resolves once it answers PING. */
  static async start(dir: string, logger: Logger): Promise<LocalRedis> {
    const found = await ping(LOCAL_REDIS_URL);
    if (found.answered) {
      logger.info({ redis: `${HOST}:${PORT}` }, 'using the Redis already running');
      return new LocalRedis(null, logger);
    }
    if (!found.refused) {
      throw new LocalRedisError(
        `something on ${HOST}:${PORT} does not answer PING (${found.error}): for a Redis with a password set ` +
          `REDIS_URL=redis://:<password>@${HOST}:${PORT}; otherwise free the port, ${WAY_OUT}`,
      );
    }

    if (!isInstalled('redis-server')) {
      throw new LocalRedisError(`redis-server is not installed: install it (apt install redis-server, or ./setup.sh), ${WAY_OUT}`);
    }
    fs.mkdirSync(dir, { recursive: true });
    const child = new SupervisedProcess({
      command: 'redis-server',
      args: ['--port', String(PORT), '--bind', HOST, '--dir', dir, '--appendonly', 'yes'],
      stdout: 'log', // where it logs
      // Its own process group: Ctrl-C in the terminal reaches us, not Redis,
      // which must outlive the recorder's shutdown (it finishes its jobs there).
      detached: true,
      // SIGTERM: Redis saves and exits.
      graceMs: 10_000,
      parentDeathSignal: 'SIGTERM',
    });
    let failure: LocalRedisError | undefined;
    let answered = false;
    child.once('died', (reason) => {
      if (answered) logger.error({ reason }, 'redis-server ended: recording stops working until restarted');
      else failure = new LocalRedisError(`redis-server ${reason} before it answered; ${WAY_OUT}`);
    });

    const deadline = Date.now() + 10_000;
    for (;;) {
      if (failure) throw failure;
      if ((await ping(LOCAL_REDIS_URL)).answered) break;
      if (Date.now() > deadline) {
        await child.stop();
        throw new LocalRedisError(`redis-server did not answer PING within 10 s: ${lastLines(child.tail) || '(no output)'}; ${WAY_OUT}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    answered = true;
    logger.info({ redis: `${HOST}:${PORT}`, dir, pid: child.pid }, 'started redis-server');
    return new LocalRedis(child, logger);
  }

  /** Stops the server if it is ours (it writes its append-only file out first). */
  async stop(): Promise<void> {
    if (!this.#process) return;
    await this.#process.stop();
    this.#logger.info('redis-server stopped');
  }
}

type Answer = { answered: true } | { answered: false; refused: boolean; error: string };

async function ping(url: string): Promise<Answer> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    connectTimeout: 1000,
    commandTimeout: 1000,
  });
  // A refused connection arrives here; connect() itself only says "Connection is closed".
  let cause: NodeJS.ErrnoException | undefined;
  client.on('error', (error: NodeJS.ErrnoException) => (cause ??= error));
  try {
    await client.connect();
    await client.ping();
    return { answered: true };
  } catch (error) {
    const failure = cause ?? (error as NodeJS.ErrnoException);
    return { answered: false, refused: failure.code === 'ECONNREFUSED', error: failure.message };
  } finally {
    client.disconnect();
  }
}
