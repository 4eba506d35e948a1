// The Redis the all-in-one queues recordings on when REDIS_URL is unset:
// whatever already answers on 127.0.0.1:6379 (Debian's redis-server service,
// or one left running by an earlier start), else a redis-server of its own
// there, persisting to data/redis and stopped with the server.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import type { Logger } from './common/logger.ts';

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
  readonly #process: ChildProcess | null;
  readonly #logger: Logger;
  #stopping = false;

  private constructor(process: ChildProcess | null, logger: Logger) {
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

    fs.mkdirSync(dir, { recursive: true });
    // Its own process group: Ctrl-C in the terminal reaches us, not Redis,
    // which must outlive the recorder's shutdown (it finishes its jobs there).
    const child = spawn('redis-server', ['--port', String(PORT), '--bind', HOST, '--dir', dir, '--appendonly', 'yes'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let log = '';
    const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-2000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    let failure: LocalRedisError | undefined;
    child.once('error', (error: NodeJS.ErrnoException) => {
      failure =
        error.code === 'ENOENT'
          ? new LocalRedisError(`redis-server is not installed: install it (apt install redis-server, or ./setup.sh), ${WAY_OUT}`)
          : new LocalRedisError(`cannot run redis-server (${error.message}); ${WAY_OUT}`);
    });
    child.once('exit', (code, signal) => {
      failure ??= new LocalRedisError(`redis-server exited (${signal ?? code}) before it answered: ${lastLines(log)}; ${WAY_OUT}`);
    });

    const deadline = Date.now() + 10_000;
    for (;;) {
      if (failure) throw failure;
      if ((await ping(LOCAL_REDIS_URL)).answered) break;
      if (Date.now() > deadline) {
        await stopProcess(child);
        throw new LocalRedisError(`redis-server did not answer PING within 10 s: ${lastLines(log)}; ${WAY_OUT}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const redis = new LocalRedis(child, logger);
    child.once('exit', (code, signal) => {
      if (!redis.#stopping) logger.error({ code, signal, log: lastLines(log) }, 'redis-server exited: recording stops working until restarted');
    });
    logger.info({ redis: `${HOST}:${PORT}`, dir, pid: child.pid }, 'started redis-server');
    return redis;
  }

  /** Stops the server if it is ours (it writes its append-only file out first). */
  async stop(): Promise<void> {
    if (!this.#process) return;
    this.#stopping = true;
    await stopProcess(this.#process);
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

/** SIGTERM (Redis saves and exits), then SIGKILL if it has not within 10 s. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function lastLines(log: string): string {
  return log.trim().split('\n').slice(-3).join(' | ') || '(no output)';
}
