import type { BridgeConfig } from './config.ts';
import { DialOuts } from './dialOut/DialOuts.ts';
import { buildHttpServer, type HttpServer } from './http/app.ts';
import type { Logger } from './logger.ts';
import { WorkerPool } from './media/WorkerPool.ts';
import { RoomRegistry } from './rooms/RoomRegistry.ts';

/** The SFU with its signaling and REST: media workers, rooms and the HTTP server. */
export class Bridge {
  readonly pool: WorkerPool;
  readonly registry: RoomRegistry;
  readonly dialOuts: DialOuts;
  readonly http: HttpServer;
  readonly url: string;

  private constructor(pool: WorkerPool, registry: RoomRegistry, dialOuts: DialOuts, http: HttpServer, url: string) {
    this.pool = pool;
    this.registry = registry;
    this.dialOuts = dialOuts;
    this.http = http;
    this.url = url;
  }

  static async start(config: BridgeConfig, logger: Logger): Promise<Bridge> {
    const { media } = config;
    const pool = await WorkerPool.create({
      count: media.workers,
      listenIp: media.listenIp,
      announcedAddress: media.announcedAddress,
      portBase: media.portBase,
      logger: logger.child({ component: 'media' }),
    });
    const registry = new RoomRegistry({
      pool,
      network: { listenIp: media.listenIp, announcedAddress: media.announcedAddress, plainPortRange: media.plainPortRange },
      maxPeers: config.rooms.maxPeers,
      pinDigits: config.rooms.pinDigits,
      logger: logger.child({ component: 'rooms' }),
    });
    const dialOuts = new DialOuts(logger.child({ component: 'dial-out' }));
    try {
      const http = await buildHttpServer({ config, pool, registry, dialOuts, logger });
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      return new Bridge(pool, registry, dialOuts, http, address.replace('0.0.0.0', '127.0.0.1'));
    } catch (error) {
      pool.close();
      throw error;
    }
  }

  /** Tells every client the bridge is going away, then releases ports and workers. */
  async stop(): Promise<void> {
    this.registry.closeAll();
    await this.http.close();
    this.pool.close();
  }
}
