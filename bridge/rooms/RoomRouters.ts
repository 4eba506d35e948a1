import type { Producer, Router, RtpCapabilities, Transport } from 'mediasoup/types';
import type { Logger } from '../../common/logger.ts';
import { mediaCodecs } from '../media/codecs.ts';
import { placeReceiver } from '../media/receiverPlacement.ts';
import type { MediaWorker, WorkerPool, WorkerTenant } from '../media/WorkerPool.ts';
import { RequestError } from '../signaling/RequestError.ts';

/** The room a home router belongs to, as its worker sees it. */
export interface HomedRoom {
  /** Its peers. */
  readonly load: number;
}

/**
 * One of a room's routers, a tenant of its worker. Its consumers load the
 * worker; the home router's room adds its peers (new rooms are placed by them).
 */
export class RoomRouter implements WorkerTenant {
  readonly router: Router;
  readonly mediaWorker: MediaWorker;
  /** Set on the room's home router only. */
  readonly homeOf: HomedRoom | undefined;
  #consumers = 0;
  #producers = 0;

  constructor(router: Router, mediaWorker: MediaWorker, homeOf: HomedRoom | undefined) {
    this.router = router;
    this.mediaWorker = mediaWorker;
    this.homeOf = homeOf;
    // Pipe transports are the room's own plumbing: what they carry is counted where it originates.
    router.observer.on('newtransport', (transport) => {
      if (transport.type === 'pipe') return;
      transport.observer.on('newconsumer', (consumer) => {
        this.#consumers++;
        consumer.observer.once('close', () => this.#consumers--);
      });
      transport.observer.on('newproducer', (producer) => {
        this.#producers++;
        producer.observer.once('close', () => this.#producers--);
      });
    });
  }

  get consumers(): number {
    return this.#consumers;
  }

  get producers(): number {
    return this.#producers;
  }

  get load(): number {
    return (this.homeOf?.load ?? 0) + this.#consumers;
  }
}

/**
 * A room's routers: the home router, where senders' transports and the audio
 * observers are, and routers on other workers its receivers spread to once
 * the workers it is on carry MEDIA_WORKER_SPREAD_CONSUMERS consumers. A
 * producer is piped to a router the first time a consumer there needs it;
 * mediasoup makes the piped producer follow the original's pause, resume and
 * close.
 */
export class RoomRouters {
  readonly home: RoomRouter;
  readonly #pool: WorkerPool;
  readonly #pipePorts: { min: number; max: number };
  readonly #roomName: string;
  readonly #logger: Logger;
  readonly #routers: RoomRouter[] = [];
  readonly #transportRouter = new WeakMap<Transport, RoomRouter>();
  /** Each producer's router (where it was produced), and where it has been piped to. */
  readonly #producers = new Map<string, { origin: RoomRouter; pipes: Map<RoomRouter, Promise<unknown>> }>();
  #adding: Promise<RoomRouter> | undefined;

  private constructor(pool: WorkerPool, roomName: string, logger: Logger, home: RoomRouter, pipePorts: { min: number; max: number }) {
    this.#pool = pool;
    this.#pipePorts = pipePorts;
    this.#roomName = roomName;
    this.#logger = logger;
    this.home = home;
    this.#adopt(home);
  }

  /**
   * `pipePorts`: where the pipes between the room's routers bind (on loopback): a configured
   * range, not anywhere in mediasoup's default 10000-59999, where they could take a port a
   * replacement worker or another service must bind.
   */
  static async create(
    pool: WorkerPool,
    mediaWorker: MediaWorker,
    room: HomedRoom & { name: string },
    logger: Logger,
    pipePorts: { min: number; max: number },
  ): Promise<RoomRouters> {
    const router = await mediaWorker.worker.createRouter({ mediaCodecs, appData: { room: room.name } });
    return new RoomRouters(pool, room.name, logger, new RoomRouter(router, mediaWorker, room), pipePorts);
  }

  get all(): readonly RoomRouter[] {
    return this.#routers;
  }

  /** Whether one of the room's routers is (or was, if it died) on this worker. */
  onWorker(mediaWorker: MediaWorker): boolean {
    return this.#routers.some((r) => r.mediaWorker === mediaWorker);
  }

  /** The router a transport was made on. */
  routerOf(transport: Transport): RoomRouter {
    const router = this.#transportRouter.get(transport);
    if (!router) throw new Error(`transport ${transport.id} is not one of room ${this.#roomName}'s`);
    return router;
  }

  /** Where a new receive transport goes (see placeReceiver), adding a router on another worker if that is where. */
  async forReceiver(): Promise<RoomRouter> {
    // One router at a time, so a burst of receivers cannot add two on the same worker.
    while (this.#adding) await this.#adding.catch(() => undefined);
    const live = this.#routers.filter((r) => !r.router.closed);
    if (live.length === 0) throw new RequestError('unavailable', 'the room is restarting its media; try again');
    const own = live.map((r) => r.mediaWorker);
    const others = this.#pool.alive.filter((w) => !own.includes(w));
    const worker = placeReceiver(own, others, this.#pool.spreadConsumers);
    const existing = live.find((r) => r.mediaWorker === worker);
    if (existing) return existing;
    this.#adding = this.#add(worker);
    try {
      return await this.#adding;
    } finally {
      this.#adding = undefined;
    }
  }

  /** Whether these capabilities can receive the producer (asked of its own router: they all share one codec list). */
  canConsume(producerId: string, rtpCapabilities: RtpCapabilities): boolean {
    const origin = this.#producers.get(producerId)?.origin;
    return !!origin && origin.router.canConsume({ producerId, rtpCapabilities });
  }

  /**
   * A producer made on a pipe transport of the home router (another bridge's,
   * piped over a cascade link): consumable as if produced there. Producers of
   * the room's own pipe transports are piped copies and not adopted.
   */
  adoptOrigin(producer: Producer): void {
    this.#producers.set(producer.id, { origin: this.home, pipes: new Map() });
    producer.observer.once('close', () => this.#producers.delete(producer.id));
  }

  /** Makes the producer consumable on `to`, piping it there the first time. */
  async bring(producer: Producer, to: RoomRouter): Promise<void> {
    const entry = this.#producers.get(producer.id);
    if (!entry) throw new Error(`producer ${producer.id} is not one of room ${this.#roomName}'s`);
    if (entry.origin === to) return;
    let piping = entry.pipes.get(to);
    if (!piping) {
      piping = entry.origin.router.pipeToRouter({
        producerId: producer.id,
        router: to.router,
        listenInfo: { protocol: 'udp', ip: '127.0.0.1', portRange: this.#pipePorts },
      });
      entry.pipes.set(to, piping);
      // A failed pipe (the producer or a router closed meanwhile) may be tried again.
      piping.catch(() => entry.pipes.delete(to));
    }
    await piping;
  }

  close(): void {
    for (const r of this.#routers) {
      r.router.close();
      r.mediaWorker.tenants.delete(r);
    }
  }

  async #add(mediaWorker: MediaWorker): Promise<RoomRouter> {
    const router = await mediaWorker.worker.createRouter({ mediaCodecs, appData: { room: this.#roomName } });
    const added = new RoomRouter(router, mediaWorker, undefined);
    if (this.home.router.closed) {
      // The room closed or restarted its media meanwhile.
      router.close();
      throw new RequestError('unavailable', 'the room is restarting its media; try again');
    }
    this.#adopt(added);
    this.#logger.info({ worker: mediaWorker.index, routers: this.#routers.length }, 'room spread to another media worker');
    return added;
  }

  #adopt(r: RoomRouter): void {
    this.#routers.push(r);
    r.mediaWorker.tenants.add(r);
    r.router.observer.on('newtransport', (transport) => {
      if (transport.type === 'pipe') return;
      this.#transportRouter.set(transport, r);
      transport.observer.on('newproducer', (producer) => {
        this.#producers.set(producer.id, { origin: r, pipes: new Map() });
        producer.observer.once('close', () => this.#producers.delete(producer.id));
      });
    });
  }
}
