import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { WebRtcServer, Worker } from 'mediasoup/types';
import type { Logger } from '../../common/logger.ts';

export interface WorkerPoolOptions {
  count: number;
  listenIp: string;
  announcedAddress: string;
  /** Worker i's WebRtcServer takes portBase + i (UDP, and TCP as fallback). */
  portBase: number;
  /** Consumers a worker carries before rooms on it spread new receivers to other workers. */
  spreadConsumers: number;
  logger: Logger;
}

/** Anything placed on a worker that adds load to it. */
export interface WorkerTenant {
  /** What new rooms' placement weighs. */
  readonly load: number;
  /** What spreading a room's receivers weighs (see receiverPlacement.ts). */
  readonly consumers: number;
}

/** A mediasoup Worker (one per core) with its WebRtcServer and what it hosts. */
export class MediaWorker {
  readonly index: number;
  readonly worker: Worker;
  readonly webRtcServer: WebRtcServer;
  readonly tenants = new Set<WorkerTenant>();

  constructor(index: number, worker: Worker, webRtcServer: WebRtcServer) {
    this.index = index;
    this.worker = worker;
    this.webRtcServer = webRtcServer;
  }

  get load(): number {
    let load = 0;
    for (const tenant of this.tenants) load += tenant.load;
    return load;
  }

  get consumers(): number {
    let consumers = 0;
    for (const tenant of this.tenants) consumers += tenant.consumers;
    return consumers;
  }

  get pid(): number {
    return this.worker.pid;
  }
}

interface WorkerPoolEvents {
  /** A worker died and was replaced; its tenants must move. */
  workerReplaced: [dead: MediaWorker, replacement: MediaWorker];
}

/**
 * One mediasoup Worker per configured core. A worker that dies is logged and
 * replaced on the same port; listeners move its rooms.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly #options: WorkerPoolOptions;
  readonly #workers: MediaWorker[] = [];
  #closed = false;

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let index = 0; index < options.count; index++) {
        pool.#workers[index] = await pool.#spawn(index);
      }
    } catch (error) {
      pool.close();
      throw error;
    }
    return pool;
  }

  get workers(): readonly MediaWorker[] {
    return this.#workers;
  }

  get aliveCount(): number {
    return this.alive.length;
  }

  get alive(): MediaWorker[] {
    return this.#workers.filter((w) => !w.worker.closed);
  }

  get spreadConsumers(): number {
    return this.#options.spreadConsumers;
  }

  /** Where a new room goes: the live worker with the least load, then the fewest tenants. */
  leastLoaded(): MediaWorker {
    const alive = this.alive;
    if (alive.length === 0) throw new Error('no media worker is running');
    return alive.reduce((best, w) =>
      w.load < best.load || (w.load === best.load && w.tenants.size < best.tenants.size) ? w : best,
    );
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#workers) w.worker.close();
  }

  async #spawn(index: number): Promise<MediaWorker> {
    const { listenIp, announcedAddress, portBase, logger } = this.#options;
    const worker = await mediasoup.createWorker({ logLevel: 'warn', appData: { index } });
    const port = portBase + index;
    let webRtcServer: WebRtcServer;
    try {
      webRtcServer = await worker.createWebRtcServer({
        listenInfos: [
          { protocol: 'udp', ip: listenIp, announcedAddress, port },
          { protocol: 'tcp', ip: listenIp, announcedAddress, port },
        ],
      });
    } catch (error) {
      worker.close();
      throw new Error(`media worker ${index} cannot listen on port ${port}: ${(error as Error).message}`);
    }
    const mediaWorker = new MediaWorker(index, worker, webRtcServer);
    worker.on('died', (error) => void this.#onDied(mediaWorker, error));
    logger.info({ worker: index, pid: worker.pid, port }, 'media worker started');
    return mediaWorker;
  }

  async #onDied(dead: MediaWorker, error: Error): Promise<void> {
    const { logger } = this.#options;
    logger.error({ worker: dead.index, pid: dead.pid, err: error, routers: dead.tenants.size }, 'media worker died');
    if (this.#closed) return;
    // The dead process freed its port; a replacement can take it at once.
    let replacement: MediaWorker | undefined;
    for (let attempt = 1; !replacement && !this.#closed; attempt++) {
      try {
        replacement = await this.#spawn(dead.index);
      } catch (spawnError) {
        logger.error({ worker: dead.index, err: spawnError, attempt }, 'cannot replace media worker; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * attempt)));
      }
    }
    if (!replacement) return;
    if (this.#closed) {
      replacement.worker.close();
      return;
    }
    this.#workers[dead.index] = replacement;
    this.emit('workerReplaced', dead, replacement);
  }
}
