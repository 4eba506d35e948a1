import type { Logger } from '../../common/logger.ts';
import type { WorkerPool } from '../media/WorkerPool.ts';
import { RequestError } from '../signaling/RequestError.ts';
import { Room, type MediaNetwork } from './Room.ts';
import { RoomPins, type DeploymentPins } from './RoomPins.ts';

export interface RoomRegistryOptions {
  pool: WorkerPool;
  network: MediaNetwork;
  maxPeers: number;
  /** Length of each room's dial-in PIN. */
  pinDigits: number;
  /** The deployment's dial-in PINs (with REDIS_URL): each room's PIN is unique among every bridge's, and callers reach other bridges' rooms. */
  dialInPins?: DeploymentPins;
  /** Rooms this bridge hosts at most (ROOMS_MAX). */
  maxRooms: number;
  logger: Logger;
  /** Told when a room opens and when it closes (the room directory records its home). */
  roomEvents?: { opened(name: string): void; closed(name: string): void };
  /** Why no new room may open now (the bridge is draining), or undefined while one may; rooms already open still take joins. */
  newRoomRefusal?: () => string | undefined;
}

/** The bridge's live rooms by name; places new rooms and moves them when a worker dies. */
export class RoomRegistry {
  readonly #options: RoomRegistryOptions;
  readonly #rooms = new Map<string, Room>();
  readonly #creating = new Map<string, Promise<Room>>();
  readonly #pins: RoomPins<Room>;

  constructor(options: RoomRegistryOptions) {
    this.#options = options;
    this.#pins = new RoomPins(options.pinDigits, { deployment: options.dialInPins });
    options.pool.on('workerReplaced', (dead) => {
      for (const room of this.#rooms.values()) {
        if (room.usesWorker(dead)) void this.#move(room);
      }
    });
  }

  get size(): number {
    return this.#rooms.size;
  }

  /** Peers in every room. */
  get load(): number {
    let load = 0;
    for (const room of this.#rooms.values()) load += room.load;
    return load;
  }

  get(name: string): Room | undefined {
    return this.#rooms.get(name);
  }

  /** The name of the live room a phone caller reaches with this PIN: this bridge's first, else the deployment's. */
  async roomNameByPin(pin: string): Promise<string | undefined> {
    return this.#pins.roomOf(pin)?.name ?? this.#options.dialInPins?.roomOf(pin);
  }

  list(): Room[] {
    return [...this.#rooms.values()];
  }

  /**
   * The live room of that name, created on the least-loaded worker if there
   * is none, the bridge is not draining and hosts fewer than its maximum (rooms being created
   * count, so a burst of joins cannot overshoot it).
   */
  async getOrCreate(name: string, { homeBridge }: { homeBridge?: string } = {}): Promise<Room> {
    const existing = this.#rooms.get(name);
    if (existing && !existing.closed) return existing;
    let creating = this.#creating.get(name);
    if (!creating) {
      const { maxRooms } = this.#options;
      const refusal = this.#options.newRoomRefusal?.();
      if (refusal) throw new RequestError('unavailable', refusal);
      if (this.#rooms.size + this.#creating.size >= maxRooms) {
        throw new RequestError('unavailable', `this bridge hosts its maximum of ${maxRooms} rooms`);
      }
      creating = this.#create(name, homeBridge).finally(() => this.#creating.delete(name));
      this.#creating.set(name, creating);
    }
    return creating;
  }

  closeAll(): void {
    for (const room of this.#rooms.values()) room.close('shuttingDown');
  }

  /**
   * A new room with a fresh PIN (claimed across the deployment first, if there is one), live once
   * made. `homeBridge`: this bridge serves it as that bridge's satellite (cascading).
   */
  async #create(name: string, homeBridge: string | undefined): Promise<Room> {
    const { pool, network, maxPeers, logger } = this.#options;
    const pin = await this.#pins.reserve(name);
    let room: Room;
    try {
      room = await Room.create({ name, pin, pool, network, maxPeers, logger, ...(homeBridge !== undefined && { homeBridge }) });
    } catch (error) {
      this.#pins.release(pin);
      throw error;
    }
    this.#rooms.set(name, room);
    this.#pins.assign(pin, room);
    this.#options.roomEvents?.opened(name);
    room.once('closed', () => {
      if (this.#rooms.get(name) === room) this.#rooms.delete(name);
      this.#pins.release(pin);
      if (!this.#rooms.has(name)) this.#options.roomEvents?.closed(name);
    });
    return room;
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
