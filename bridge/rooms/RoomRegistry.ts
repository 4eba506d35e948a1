import type { Logger } from '../logger.ts';
import type { WorkerPool } from '../media/WorkerPool.ts';
import { Room, type MediaNetwork } from './Room.ts';

export interface RoomRegistryOptions {
  pool: WorkerPool;
  network: MediaNetwork;
  maxPeers: number;
  logger: Logger;
}

/** The bridge's live rooms by name; places new rooms and moves them when a worker dies. */
export class RoomRegistry {
  readonly #options: RoomRegistryOptions;
  readonly #rooms = new Map<string, Room>();
  readonly #creating = new Map<string, Promise<Room>>();

  constructor(options: RoomRegistryOptions) {
    this.#options = options;
    options.pool.on('workerReplaced', (dead) => {
      for (const tenant of [...dead.tenants]) {
        if (tenant instanceof Room) void this.#move(tenant);
      }
    });
  }

  get size(): number {
    return this.#rooms.size;
  }

  get(name: string): Room | undefined {
    return this.#rooms.get(name);
  }

  list(): Room[] {
    return [...this.#rooms.values()];
  }

  /** The live room of that name, created on the least-loaded worker if there is none. */
  async getOrCreate(name: string): Promise<Room> {
    const existing = this.#rooms.get(name);
    if (existing && !existing.closed) return existing;
    let creating = this.#creating.get(name);
    if (!creating) {
      const { pool, network, maxPeers, logger } = this.#options;
      creating = Room.create({ name, mediaWorker: pool.leastLoaded(), network, maxPeers, logger }).finally(() =>
        this.#creating.delete(name),
      );
      this.#creating.set(name, creating);
      const room = await creating;
      this.#rooms.set(name, room);
      room.once('closed', () => {
        if (this.#rooms.get(name) === room) this.#rooms.delete(name);
      });
      return room;
    }
    return creating;
  }

  closeAll(): void {
    for (const room of this.#rooms.values()) room.close('shuttingDown');
  }

  async #move(room: Room): Promise<void> {
    try {
      await room.moveTo(this.#options.pool.leastLoaded());
    } catch (error) {
      this.#options.logger.error({ err: error, room: room.name }, 'cannot move room; closing it');
      room.close();
    }
  }
}
