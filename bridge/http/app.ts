import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import http from 'node:http';
import https from 'node:https';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { JoinTokens } from '../auth/JoinTokens.ts';
import type { RestAuth } from '../auth/RestAuth.ts';
import { TurnCredentials } from '../auth/TurnCredentials.ts';
import type { BridgeToBridge } from '../../protocol/bridgeTrust.ts';
import type { BridgeConfig } from '../config.ts';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import type { BridgeDirectory } from '../directory/BridgeDirectory.ts';
import type { CascadeLinks } from '../cascade/CascadeLinks.ts';
import type { BridgeDrain } from '../BridgeDrain.ts';
import type { Logger } from '../../common/logger.ts';
import type { Recordings } from '../recording/Recordings.ts';
import type { WorkerPool } from '../media/WorkerPool.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import type { TlsIdentity } from '../tls/TlsIdentity.ts';
import { bridgeRoutes } from './bridgeRoutes.ts';
import { cascadeRoute } from './cascadeRoute.ts';
import { dialOutRoutes } from './dialOutRoutes.ts';
import { healthRoutes } from './healthRoutes.ts';
import { metricsRoute } from './metricsRoute.ts';
import { recordingRoutes } from './recordingRoutes.ts';
import { installRestAccess, replyToRateLimit, restRateLimit, restSecuritySchemes } from './restAccess.ts';
import { installRoomForwarding } from './roomForwarding.ts';
import { roomRoutes } from './roomRoutes.ts';
import type { HostWaits } from '../signaling/HostWaits.ts';
import { signalingRoute } from './signalingRoute.ts';
import { webClient } from './webClient.ts';

export interface HttpServerDeps {
  config: BridgeConfig;
  pool: WorkerPool;
  registry: RoomRegistry;
  /** The room directory shared with other bridges (REDIS_URL); undefined: this bridge is alone. */
  directory: BridgeDirectory | undefined;
  /** Rooms served together with other bridges (with the directory); undefined: this bridge is alone. */
  cascade: CascadeLinks | undefined;
  /** How REST forwarded to another bridge checks its certificate. */
  otherBridges: BridgeToBridge;
  /** This bridge's drain (POST /api/bridge/drain starts it). */
  drain: BridgeDrain;
  /** Guests of secure rooms waiting for their host. */
  hostWaits: HostWaits;
  dialOuts: DialOuts;
  recordings: Recordings;
  /** Who may call REST (operator, services, room members). */
  restAuth: RestAuth;
  /** Verifies the join tokens signaling clients present. */
  joinTokens: JoinTokens;
  logger: Logger;
  /** Serve HTTPS with this certificate (it follows the identity's changes); unset: plain HTTP. */
  tls?: TlsIdentity;
}

/**
 * What the web client's pages may load and reach: its own origin only (the
 * signaling WebSocket included: 'self' covers ws: and wss: of the same host;
 * with a room directory, webClientCsp adds the other bridges' sockets).
 * Camera, microphone and remote media are MediaStreams set as srcObject,
 * which no directive governs.
 */
const WEB_CLIENT_CSP = {
  defaultSrc: ["'self'"],
  baseUri: ["'self'"],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'self'"],
  imgSrc: ["'self'"],
  objectSrc: ["'none'"],
  scriptSrc: ["'self'"],
  scriptSrcAttr: ["'none'"],
  styleSrc: ["'self'"],
};

/** Swagger UI injects <style> elements and draws icons from data: URLs, which the web client's policy refuses: /docs alone allows them. */
const DOCS_CSP_OVERRIDES: Record<string, string> = { 'style-src': "'self' 'unsafe-inline'", 'img-src': "'self' data:" };

/**
 * With a room directory, a page may also open the signaling socket of the
 * deployment's other live bridges (as of this response): when its own bridge
 * dies, it rejoins through them without moving (a page on a new origin would
 * ask for camera and microphone again).
 */
function webClientCsp(directory: BridgeDirectory | undefined) {
  if (!directory) return WEB_CLIENT_CSP;
  return { ...WEB_CLIENT_CSP, connectSrc: ["'self'", () => directory.webSocketOrigins().join(' ')] };
}

function docsCsp(header: string): string {
  const kept = header.split(';').filter((directive) => !(directive.trim().split(/\s/)[0]! in DOCS_CSP_OVERRIDES));
  return [...kept, ...Object.entries(DOCS_CSP_OVERRIDES).map(([name, sources]) => `${name} ${sources}`)].join(';');
}

/** The bridge's HTTP face: signaling WebSocket, REST with OpenAPI docs, health, metrics, web client. */
export type HttpServer = Awaited<ReturnType<typeof buildHttpServer>>;

export async function buildHttpServer({ config, pool, registry, directory, cascade, otherBridges, drain, hostWaits, dialOuts, recordings, restAuth, joinTokens, logger, tls }: HttpServerDeps) {
  const app = Fastify({
    // Fastify's types know http.Server only; an https.Server serves the same requests.
    ...(tls && { serverFactory: (handler: http.RequestListener) => httpsServer(tls, handler) as unknown as http.Server }),
    // Per-request logs only when debugging; errors always.
    loggerInstance: logger.child({ component: 'http' }, { level: logger.isLevelEnabled('debug') ? 'debug' : 'warn' }),
    bodyLimit: 64 * 1024,
    // request.ip (the per-address limits, logs) is the forwarded client's only behind a listed proxy.
    trustProxy: config.trustedProxies.length > 0 ? [...config.trustedProxies] : false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: webClientCsp(directory) },
    // Browsers heed HSTS only over HTTPS; on plain HTTP it would only mislead.
    strictTransportSecurity: tls ? undefined : false,
  });
  installRestAccess(app, restAuth);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Bridge API', description: 'Rooms and participants of the conferencing bridge', version: '1' },
      components: { securitySchemes: restSecuritySchemes },
      security: Object.keys(restSecuritySchemes).map((scheme) => ({ [scheme]: [] })),
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', transformStaticCSP: docsCsp });
  // ws closes a connection above maxPayload; below it, oversized messages get an error reply instead.
  await app.register(fastifyWebsocket, {
    options: { maxPayload: Math.max(1 << 20, 4 * config.signaling.maxMessageBytes) },
    // A client breaking the WebSocket framing (e.g. a frame over maxPayload)
    // loses its connection; that is the client's fault, not a server error.
    errorHandler: (error, socket, request) => {
      request.log.warn({ code: (error as { code?: string }).code, message: error.message }, 'signaling socket closed on error');
      socket.terminate();
    },
  });

  await app.register(signalingRoute, {
    registry,
    directory,
    cascade,
    hostWaits,
    logger,
    maxMessageBytes: config.signaling.maxMessageBytes,
    liveness: config.signaling.liveness,
    joinDeadlineMs: config.signaling.joinDeadlineMs,
    dialInNumbers: config.dialInNumbers,
    dialOuts,
    recordings,
    serviceSecret: config.serviceSecret,
    restAuth,
    joinTokens,
    turnCredentials: config.turn && new TurnCredentials(config.turn),
    authMode: config.auth.mode,
    lobbyTimeoutMs: config.auth.lobbyTimeoutSeconds * 1000,
    allowedOrigins: config.allowedOrigins,
    socketsPerAddress: config.limits.socketsPerAddress,
    messageBudget: { perSecond: config.limits.messagesPerSecond, burst: config.limits.messageBurst },
  });
  if (cascade) await app.register(cascadeRoute, { cascade, logger: logger.child({ component: 'cascade' }) });
  if (!config.serviceSecret) logger.warn('SERVICE_SECRET is not set: phone, service and recorder peers and SIP gateways are refused (web participants only)');
  // The REST routes in a context of their own, so the rate limit is theirs alone.
  await app.register(async (api) => {
    await api.register(fastifyRateLimit, restRateLimit(config.api.restPerMinute));
    api.setErrorHandler(replyToRateLimit);
    if (directory) installRoomForwarding(api, registry, directory, otherBridges.dispatcher);
    await api.register(roomRoutes, { registry, dialOuts, dialInNumbers: config.dialInNumbers });
    await api.register(dialOutRoutes, { audit: dialOuts.audit });
    await api.register(recordingRoutes, { recordings, dir: config.recording.dir });
    await api.register(bridgeRoutes, { drain });
  });
  await app.register(healthRoutes, { pool, registry, dialOuts, bridgeId: config.directory?.id });
  await app.register(metricsRoute, { pool, dialOutTotals: dialOuts.audit.totals, cascade, token: config.metricsToken });
  await app.register(webClient, { distDir: config.webDistDir });
  return app;
}

/** New TLS connections get the identity's current certificate (renewals need no restart). */
function httpsServer(tls: TlsIdentity, handler: http.RequestListener): https.Server {
  const server = https.createServer(tls.secureContextOptions, handler);
  tls.on('change', () => server.setSecureContext(tls.secureContextOptions));
  return server;
}
