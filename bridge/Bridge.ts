import type { BridgeConfig } from './config.ts';
import { DialOuts } from './dialOut/DialOuts.ts';
import { buildHttpServer, type HttpServer } from './http/app.ts';
import type { Logger } from './logger.ts';
import { WorkerPool } from './media/WorkerPool.ts';
import { Recordings } from './recording/Recordings.ts';
import { RoomRegistry } from './rooms/RoomRegistry.ts';

/** The SFU with its signaling and REST: media workers, rooms and the HTTP server. */
export class Bridge {
  readonly pool: WorkerPool;
  readonly registry: RoomRegistry;
  readonly dialOuts: DialOuts;
  readonly recordings: Recordings;
  readonly http: HttpServer;
  readonly url: string;

  private constructor(pool: WorkerPool, registry: RoomRegistry, dialOuts: DialOuts, recordings: Recordings, http: HttpServer, url: string) {
    this.pool = pool;
    this.registry = registry;
    this.dialOuts = dialOuts;
    this.recordings = recordings;
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
      network: {
        listenIp: media.listenIp,
        announcedAddress: media.announcedAddress,
        plainAnnouncedAddress: media.plainAnnouncedAddress,
        plainPortRange: media.plainPortRange,
      },
      maxPeers: config.rooms.maxPeers,
      pinDigits: config.rooms.pinDigits,
      logger: logger.child({ component: 'rooms' }),
    });
    const dialOuts = new DialOuts(logger.child({ component: 'dial-out' }));
    const recordings = new Recordings(config.recording.redisUrl, registry, logger.child({ component: 'recording' }));
    try {
      const http = await buildHttpServer({ config, pool, registry, dialOuts, recordings, logger });
      const address = await http.listen({ host: config.http.host, port: config.http.port });
      return new Bridge(pool, registry, dialOuts, recordings, http, address.replace('0.0.0.0', '127.0.0.1'));
    } catch (error) {
      await recordings.close();
      pool.close();
      throw error;
    }
  }

  /** Tells every client the bridge is going away, then releases ports and workers. */
  async stop(): Promise<void> {
    this.registry.closeAll();
    await this.http.close();
    await this.recordings.close();
    this.pool.close();
  }
}
