import fs from 'node:fs';
import os from 'node:os';
import Srf from 'drachtio-srf';
import type { Logger } from '../common/logger.ts';
import { BridgeControl } from './BridgeControl.ts';
import { Calls } from './calls/Calls.ts';
import { handleInvite } from './calls/inbound.ts';
import { DialOutCalls } from './calls/outbound.ts';
import { roomUriOpens } from './calls/routing.ts';
import { createInboundGuard } from './calls/trunkSecurity.ts';
import { isTlsUri, type GatewayConfig } from './config.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { PortPool } from '../media/PortPool.ts';
import { serviceAuthorization } from '../protocol/serviceAuth.ts';
import { loadPrompts, type Prompts } from './media/prompts.ts';
import { RoomLinks } from './room/RoomLinks.ts';
import { SipEngine } from './sip-engine/SipEngine.ts';
import { SipEdge } from './edge/SipEdge.ts';
import { serveMetrics } from './metricsServer.ts';
import type http from 'node:http';
import { Registry } from 'prom-client';
import { TrunkRegistration } from './trunk/TrunkRegistration.ts';

const ENGINE_CONNECT_TIMEOUT_MS = 10_000;
/** How long a caller waits on the bridge's answer to where the call may go. */
const BRIDGE_LOOKUP_TIMEOUT_MS = 5000;

/**
 * The SIP gateway: call control on drachtio-srf (against the embedded engine
 * or a drachtio-server), phone RTP, and one mixer clock for every call.
 */
export class Gateway {
  readonly calls: Calls;
  readonly ports: PortPool;
  readonly #config: GatewayConfig;
  readonly #logger: Logger;
  readonly #srf: Srf;
  readonly #engine: SipEngine | undefined;
  readonly #rooms: RoomLinks;
  readonly #clock: MediaClock;
  #stopClock: (() => void) | undefined;
  #control: BridgeControl | undefined;
  #trunk: TrunkRegistration | undefined;
  #edge: SipEdge | undefined;
  #metrics: http.Server | undefined;

  private constructor(config: GatewayConfig, prompts: Prompts, logger: Logger, srf: Srf, engine: SipEngine | undefined) {
    this.#config = config;
    this.#logger = logger;
    this.#srf = srf;
    this.#engine = engine;
    this.ports = new PortPool(config.rtp.host, config.rtp.portMin, config.rtp.portMax);
    this.#rooms = new RoomLinks({
      bridgeUrl: config.bridge.signalingUrl,
      serviceSecret: config.bridge.serviceSecret,
      mediaAddress: config.rtp.bridgeFacingAddress,
      region: config.bridge.region,
      ports: this.ports,
      logger: logger.child({ component: 'rooms' }),
    });
    this.calls = new Calls({ config, prompts, rooms: this.#rooms, ports: this.ports, logger: logger.child({ component: 'calls' }) });
    this.#clock = new MediaClock((error) => logger.error({ err: error }, 'media tick failed'));
  }

  static async start(config: GatewayConfig, logger: Logger): Promise<Gateway> {
    const prompts = loadPrompts(config.promptsDir);
    const registry = new Registry();
    const edge = SipEdge.start(config.edge, registry, logger.child({ component: 'sip-edge' }));
    const engine = config.engine.external
      ? undefined
      : await SipEngine.start({
          sipHost: config.sip.host,
          sipPort: config.sip.port,
          publicAddress: config.sip.publicAddress,
          controlHost: config.engine.host,
          controlPort: config.engine.port,
          secret: config.engine.secret,
          logger: logger.child({ component: 'sip-engine' }),
          screen: edge.screen,
          tcp: config.edge.tcp,
          tcpClosed: edge.tcpClosed,
          tls: sipTls(config.sip.tls),
        }).catch(async (error: unknown) => {
          await edge.close();
          throw error;
        });
    const srf = new Srf();
    let metrics: http.Server | undefined;
    try {
      await connect(srf, config.engine);
      if (config.metrics) metrics = await serveMetrics(registry, config.metrics.host, config.metrics.port, logger);
    } catch (error) {
      await engine?.close();
      await edge.close();
      throw error;
    }
    srf.on('error', (error: Error) => logger.warn({ err: error }, 'SIP engine connection problem'));
    const gateway = new Gateway(config, prompts, logger, srf, engine);
    gateway.#edge = edge;
    gateway.#metrics = metrics;
    gateway.#stopClock = gateway.#clock.add(() => gateway.#tick());
    const callLogger = logger.child({ component: 'calls' });
    const onInvite = handleInvite({
      srf,
      config,
      guard: createInboundGuard(config.inbound, callLogger, (address) => edge.failed(address, 'auth')),
      edge,
      logger: callLogger,
      calls: gateway.calls,
      lookupPin: (pin) => gateway.#lookupPin(pin),
      opensByUri: (room) => gateway.#opensByUri(room),
    });
    const dialOuts = new DialOutCalls({
      srf,
      config,
      logger: callLogger,
      calls: gateway.calls,
      report: (report) => gateway.#control?.report(report),
    });
    gateway.#control = new BridgeControl({
      signalingUrl: config.bridge.signalingUrl,
      secret: config.bridge.serviceSecret,
      name: `${os.hostname()}:${config.sip.port}`,
      dialOut: config.trunk.uri !== undefined,
      logger: logger.child({ component: 'bridge-control' }),
      onDialOut: (invitation) => dialOuts.start(invitation),
      onCancel: (callId, reason) => dialOuts.cancel(callId, reason),
    });
    // A bug in one call's flow must not take the process (and every other call) down.
    srf.invite((req, res) => {
      onInvite(req, res).catch((error: unknown) => {
        logger.error({ err: error }, 'call flow failed');
        if (!res.finalResponseSent) res.send(500);
      });
    });
    // Trunks probe with OPTIONS to see whether we are up.
    // (srf adds a method per SIP verb at run time; its type declarations list only some.)
    (srf as unknown as { options(handler: (req: Srf.SrfRequest, res: Srf.SrfResponse) => void): void }).options((_req, res) =>
      res.send(200, { headers: { Allow: 'INVITE, ACK, CANCEL, BYE, INFO, OPTIONS' } }),
    );
    gateway.#registerWithTrunk(srf);
    logger.info(
      {
        sip: `${config.sip.host}:${config.sip.port}`,
        tls: engine?.tlsPort === undefined ? undefined : `${config.sip.host}:${engine.tlsPort}`,
        srtp: config.srtp.required ? 'required' : 'optional',
        engine: config.engine.external ? 'drachtio-server' : 'embedded',
      },
      'SIP gateway ready',
    );
    return gateway;
  }

  async stop(): Promise<void> {
    this.#control?.stop();
    await this.calls.hangUpAll('gateway shutting down');
    await this.#trunk?.stop();
    this.#stopClock?.();
    this.#rooms.closeAll();
    this.#srf.disconnect();
    await this.#engine?.close();
    await this.#edge?.close();
    await new Promise((resolve) => (this.#metrics ? this.#metrics.close(resolve) : resolve(undefined)));
  }

  /** Where the trunk stands (SIP_REGISTER); undefined when not registering. */
  get trunkRegistration(): TrunkRegistration['status'] | undefined {
    return this.#trunk?.status;
  }

  /** SIP_REGISTER: keep a binding with the trunk and show its state in the bridge's /healthz. */
  #registerWithTrunk(srf: Srf): void {
    const { trunk, sip } = this.#config;
    if (!trunk.register || !trunk.uri || !trunk.auth) return;
    const host = sip.publicAddress.includes(':') ? `[${sip.publicAddress}]` : sip.publicAddress;
    this.#trunk = TrunkRegistration.start(srf, {
      registrar: trunk.uri,
      ...trunk.auth,
      expiresSeconds: trunk.register.expires,
      // Over TLS the registrar reaches us back on our TLS port.
      contactHost: `${host}:${isTlsUri(trunk.uri) && sip.tls.listen ? sip.tls.listen.port : sip.port}`,
      logger: this.#logger.child({ component: 'trunk' }),
    });
    this.#control?.setTrunkRegistration(this.#trunk.status);
    this.#trunk.on('status', (status) => this.#control?.setTrunkRegistration(status));
  }

  /** Every room decodes its speakers once, then every call sends its frame. */
  #tick(): void {
    for (const audio of this.#rooms.opened()) audio.mixer.mix();
    // A call whose media fails (e.g. a socket closed under it) is hung up on
    // its own, so it neither silences the calls after it nor logs every 20 ms.
    for (const call of this.calls) {
      try {
        call.tick();
      } catch (error) {
        this.#logger.error({ err: error, callId: call.id }, 'media of a call failed; hanging it up');
        void call.hangUp('media failed');
      }
    }
  }

  /**
   * Whether a caller dialling `room` by name may go straight in: by the
   * bridge's AUTH_MODE and the room's lobby. Unsure (the bridge unreachable),
   * no: the caller is asked for the PIN.
   */
  async #opensByUri(room: string): Promise<boolean> {
    try {
      const authMode = await this.#control?.authMode(BRIDGE_LOOKUP_TIMEOUT_MS);
      const response = await fetch(`${this.#config.bridge.httpUrl}/api/rooms/${encodeURIComponent(room)}`, {
        headers: serviceAuthorization(this.#config.bridge.serviceSecret),
        signal: AbortSignal.timeout(BRIDGE_LOOKUP_TIMEOUT_MS),
      });
      // A room not live yet has no lobby: in an open bridge the caller opens it, as anyone may.
      if (response.status === 404) return roomUriOpens({ authMode, lobby: false });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const { lobby } = (await response.json()) as { lobby: boolean };
      return roomUriOpens({ authMode, lobby });
    } catch (error) {
      this.#logger.warn({ err: error, room }, 'cannot learn how the room admits callers; asking for the PIN');
      return false;
    }
  }

  async #lookupPin(pin: string): Promise<string | null> {
    const response = await fetch(`${this.#config.bridge.httpUrl}/api/dial-in/${encodeURIComponent(pin)}`, {
      headers: serviceAuthorization(this.#config.bridge.serviceSecret),
      signal: AbortSignal.timeout(BRIDGE_LOOKUP_TIMEOUT_MS),
    });
    if (response.status === 404 || response.status === 400) return null;
    if (response.status === 401 || response.status === 403) {
      throw new Error(`PIN lookup refused (HTTP ${response.status}): SERVICE_SECRET must be the bridge's`);
    }
    if (!response.ok) throw new Error(`PIN lookup failed: HTTP ${response.status}`);
    const { room } = (await response.json()) as { room: string };
    return room;
  }
}

function connect(srf: Srf, engine: GatewayConfig['engine']): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no SIP engine at ${engine.host}:${engine.port} (DRACHTIO_HOST/DRACHTIO_PORT) within ${ENGINE_CONNECT_TIMEOUT_MS} ms`)),
      ENGINE_CONNECT_TIMEOUT_MS,
    );
    srf.once('connect', (error: Error | null) => {
      clearTimeout(timer);
      if (error) reject(new Error(`SIP engine refused us: ${error.message} (check DRACHTIO_SECRET)`));
      else resolve();
    });
    srf.connect({ host: engine.host, port: engine.port, secret: engine.secret });
  });
}

/** The engine's TLS settings from the configured files (read once, at start). */
function sipTls(tls: GatewayConfig['sip']['tls']) {
  return {
    ...(tls.listen ? { port: tls.listen.port, cert: fs.readFileSync(tls.listen.cert), key: fs.readFileSync(tls.listen.key) } : {}),
    ...(tls.ca ? { ca: fs.readFileSync(tls.ca) } : {}),
  };
}
