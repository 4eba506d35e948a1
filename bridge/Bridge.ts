import type { LoadedCredentials } from './auth/ApiCredentials.ts';
import { JoinTokens } from './auth/JoinTokens.ts';
import { RestAuth } from './auth/RestAuth.ts';
import type { BridgeConfig } from './config.ts';
import { DialOutAudit } from './dialOut/DialOutAudit.ts';
import { DialOutPolicy } from './dialOut/DialOutPolicy.ts';
import { DialOuts } from './dialOut/DialOuts.ts';
import { BridgeDirectory } from './directory/BridgeDirectory.ts';
import { CascadeLinks } from './cascade/CascadeLinks.ts';
import { DialInPins } from './directory/DialInPins.ts';
import { BridgeDrain } from './BridgeDrain.ts';
import type http from 'node:http';
import { buildHttpServer, type HttpServer } from './http/app.ts';
import { httpsRedirectServer } from './http/httpsRedirect.ts';
import type { Logger } from '../common/logger.ts';
import { bridgeToBridge } from '../protocol/bridgeTrust.ts';
import { WorkerPool } from './media/WorkerPool.ts';
import { Recordings } from './recording/Recordings.ts';
import { RoomRegistry } from './rooms/RoomRegistry.ts';
import { HostWaits } from './signaling/HostWaits.ts';
import { StreamDestinations } from './streaming/StreamDestinations.ts';
import { AcmeCertificates } from './tls/AcmeCertificates.ts';
import { loadTlsIdentity } from './tls/loadTlsIdentity.ts';
import type { TlsIdentity } from './tls/TlsIdentity.ts';

/** HTTPS and what comes with it: the certificate, HTTP_PORT's redirect, ACME renewals. */
interface BridgeTls {
  identity: TlsIdentity;
  redirect: http.Server;
  acme: AcmeCertificates | undefined;
}

/** The SFU with its signaling and REST: media workers, rooms and the HTTP server. */
export class Bridge {
  readonly pool: WorkerPool;
  readonly registry: RoomRegistry;
  /** Undefined: no REDIS_URL, this bridge is alone. */
  readonly directory: BridgeDirectory | undefined;
  /** The deployment's dial-in PINs; undefined without REDIS_URL (PINs unique on this bridge). */
  readonly dialInPins: DialInPins | undefined;
  /** Started by SIGTERM or POST /api/bridge/drain; the process stops the bridge when it is done. */
  readonly drain: BridgeDrain;
  readonly dialOuts: DialOuts;
  readonly recordings: Recordings;
  readonly http: HttpServer;
  /** The main listener: https://… when serving HTTPS, else http://… */
  readonly url: string;
  readonly tls: BridgeTls | undefined;

  private constructor(
    pool: WorkerPool,
    registry: RoomRegistry,
    directory: BridgeDirectory | undefined,
    dialInPins: DialInPins | undefined,
    drain: BridgeDrain,
    dialOuts: DialOuts,
    recordings: Recordings,
    http: HttpServer,
    url: string,
    tls: BridgeTls | undefined,
  ) {
    this.pool = pool;
    this.registry = registry;
    this.directory = directory;
    this.dialInPins = dialInPins;
    this.drain = drain;
    this.dialOuts = dialOuts;
    this.recordings = recordings;
    this.http = http;
    this.url = url;
    this.tls = tls;
  }

  /** `api`: the operator's key and secret (loadApiCredentials), which REST checks and join tokens are signed with. */
  static async start(config: BridgeConfig, logger: Logger, api: LoadedCredentials): Promise<Bridge> {
    const { media } = config;
    if (api.created) logger.info({ apiKey: api.credentials.key, file: api.file }, 'made an API key and secret (the file is readable only by this user)');
    const restAuth = new RestAuth(api.credentials, config.serviceSecret);
    const joinTokens = await JoinTokens.create(api.credentials, config.auth.provider);
    const pool = await WorkerPool.create({
      count: media.workers,
      listenIp: media.listenIp,
      announcedAddress: media.announcedAddress,
      portBase: media.portBase,
      spreadConsumers: media.spreadConsumers,
      logger: logger.child({ component: 'media' }),
    });
    let directory: BridgeDirectory | undefined;
    const dialInPins = config.directory && (await DialInPins.start({ redisUrl: config.directory.redisUrl, heartbeatMs: config.directory.heartbeatMs, secret: api.credentials.secret, logger: logger.child({ component: 'dial-in-pins' }) }));
    const network = {
      listenIp: media.listenIp,
      announcedAddress: media.announcedAddress,
      plainAnnouncedAddress: media.plainAnnouncedAddress,
      plainPortRange: media.plainPortRange,
    };
    const registry = new RoomRegistry({
      pool,
      network,
      maxPeers: config.rooms.maxPeers,
      pinDigits: config.rooms.pinDigits,
      dialInPins,
      maxRooms: config.limits.rooms,
      logger: logger.child({ component: 'rooms' }),
      // A new room tells the directory at once (its home and this bridge's load), not at the next heartbeat.
      roomEvents: {
        opened: () => void directory?.publish(),
        closed: (name) => {
          void directory?.roomClosed(name);
          drain.roomClosed(name);
        },
      },
      newRoomRefusal: () => drain.newRoomRefusal,
    });
    // Draining says so in the directory at once (capacity 0): no bridge places a new room here meanwhile.
    const hostWaits = new HostWaits();
    const drain = new BridgeDrain({ registry, timeoutSeconds: config.drainTimeoutSeconds, started: () => void directory?.publish(), logger: logger.child({ component: 'drain' }) });
    const dialOutLogger = logger.child({ component: 'dial-out' });
    const dialOuts = new DialOuts(dialOutLogger, new DialOutPolicy(config.dialOut), new DialOutAudit(dialOutLogger));
    const recordings = new Recordings(
      config.recording.redisUrl,
      registry,
      new StreamDestinations(config.streamAllowedHosts),
      logger.child({ component: 'recording' }),
    );
    const otherBridges = bridgeToBridge(config.bridgeTrust);
    let tls: BridgeTls | undefined;
    let http: HttpServer | undefined;
    let cascade: CascadeLinks | undefined;
    try {
      if (config.directory) {
        const { id, capacity, region, heartbeatMs, redisUrl } = config.directory;
        directory = await BridgeDirectory.start({
          redisUrl,
          self: { id, url: config.publicUrl, capacity, region },
          heartbeatMs,
          recordSecret: api.credentials.secret,
          // A secure room whose guests wait for the host has no Room yet, but it is this bridge's.
          // Rooms served here for their home on another bridge (satellites) are that bridge's in the directory.
          hosted: () => ({ rooms: [...new Set([...homedRooms(registry), ...hostWaits.rooms()])], load: registry.load, draining: drain.draining }),
          // Said as a bridge shutting down: the clients rejoin through their fallbacks, and meet on the room's home.
          heldElsewhere: (rooms) =>
            rooms.filter((name) => {
              const room = registry.get(name);
              room?.close('shuttingDown');
              return room !== undefined;
            }),
          logger: logger.child({ component: 'directory' }),
        });
        logger.info({ bridgeId: id, publicUrl: config.publicUrl, capacity, region }, 'in the room directory');
        cascade = new CascadeLinks({
          registry,
          directory,
          network,
          otherBridges: otherBridges.tls,
          secret: api.credentials.secret,
          here: () => ({ load: registry.load, capacity: drain.draining ? 0 : capacity }),
          hostWaits,
          logger: logger.child({ component: 'cascade' }),
        });
      }
      const loaded = config.tls && (await loadTlsIdentity(config.tls, [media.announcedAddress]));
      if (loaded?.created) logger.info({ certificate: loaded.identity.summary }, 'made a self-signed certificate');
      http = await buildHttpServer({ config, pool, registry, directory, cascade, otherBridges, drain, hostWaits, dialOuts, recordings, restAuth, joinTokens, logger, tls: loaded?.identity });
      const address = await http.listen({ host: config.http.host, port: config.tls?.port ?? config.http.port });
      if (config.tls && loaded) {
        const redirect = httpsRedirectServer(http, config.tls.port);
        tls = { identity: loaded.identity, redirect, acme: undefined };
        await new Promise<void>((resolve, reject) => {
          redirect.once('error', reject);
          redirect.listen(config.http.port, config.http.host, resolve);
        });
        if (config.tls.acme) {
          tls.acme = await AcmeCertificates.start(
            { ...config.tls.acme, httpHost: config.http.host, httpsPort: config.tls.port, dir: config.tls.dir },
            loaded.identity,
            logger.child({ component: 'acme' }),
          );
        }
      }
      return new Bridge(pool, registry, directory, dialInPins, drain, dialOuts, recordings, http, address.replace('0.0.0.0', '127.0.0.1'), tls);
    } catch (error) {
      await directory?.stop([]);
      await dialInPins?.stop();
      await closeTls(tls);
      await http?.close();
      await recordings.close();
      pool.close();
      throw error;
    }
  }

  /** Tells every client the bridge is going away, then releases ports and workers. */
  async stop(): Promise<void> {
    // Out of the directory first: no new client is sent here while the rooms close.
    await this.directory?.stop(homedRooms(this.registry));
    await this.dialInPins?.stop();
    this.registry.closeAll();
    await closeTls(this.tls);
    await this.http.close();
    await this.recordings.close();
    this.pool.close();
  }
}

/** What to tell the person starting the server: the address to open, and the certificate's fingerprint to compare with what the browser shows. */
export function whereToOpen(config: BridgeConfig, bridge: Bridge): Record<string, unknown> {
  if (!config.tls || !bridge.tls) return { open: `${config.publicUrl}/` };
  const { summary } = bridge.tls.identity;
  return { open: `${config.publicUrl}/`, certificateSha256: summary.sha256, certificate: summary };
}

/** The rooms whose home this bridge is (not those it serves as another bridge's satellite). */
function homedRooms(registry: RoomRegistry): string[] {
  return registry
    .list()
    .filter((room) => room.homeBridge === undefined)
    .map((room) => room.name);
}

async function closeTls(tls: BridgeTls | undefined): Promise<void> {
  if (!tls) return;
  await tls.acme?.stop();
  tls.redirect.closeAllConnections();
  await new Promise((resolve) => tls.redirect.close(resolve));
}
