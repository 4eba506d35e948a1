import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import type { Logger } from '../../common/logger.ts';
import type { JoinTokens } from '../auth/JoinTokens.ts';
import type { RestAuth } from '../auth/RestAuth.ts';
import type { TurnCredentials } from '../auth/TurnCredentials.ts';
import type { Recordings } from '../recording/Recordings.ts';
import type { BridgeDirectory } from '../directory/BridgeDirectory.ts';
import type { CascadeLinks } from '../cascade/CascadeLinks.ts';
import { LIVENESS_CLOSE, type LivenessTimes } from '../../protocol/liveness.ts';
import { SIGNALING_PATH } from '../../protocol/protocol.ts';
import { ConnectionsPerAddress } from '../limits/ConnectionsPerAddress.ts';
import { PasswordAttempts } from '../limits/PasswordAttempts.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import type { HostWaits } from '../signaling/HostWaits.ts';
import { SignalingSession, type MessageBudget } from '../signaling/SignalingSession.ts';

export interface SignalingRouteOptions {
  registry: RoomRegistry;
  /** The room directory shared with other bridges; undefined: this bridge is alone. */
  directory: BridgeDirectory | undefined;
  /** Rooms served together with other bridges; undefined: this bridge is alone. */
  cascade: CascadeLinks | undefined;
  /** Guests of secure rooms waiting for their host (the bridge's: the directory keeps their rooms here). */
  hostWaits: HostWaits;
  logger: Logger;
  maxMessageBytes: number;
  dialInNumbers: readonly string[];
  dialOuts: DialOuts;
  recordings: Recordings;
  serviceSecret: string | undefined;
  /** Issues each joined peer its token for REST about its room. */
  restAuth: RestAuth;
  joinTokens: JoinTokens;
  /** Issues each joined peer its TURN servers and credentials; undefined: none configured. */
  turnCredentials: TurnCredentials | undefined;
  /** Who may enter (AUTH_MODE). */
  authMode: 'open' | 'token' | 'secure';
  /** How long a join waits for a moderator (AUTH_MODE=secure) or in a room's lobby (LOBBY_TIMEOUT_SECONDS). */
  lobbyTimeoutMs: number;
  /** Messages each socket may send per second, and in a burst. */
  messageBudget: MessageBudget;
  /** How often sockets are pinged and how long one may stay silent. */
  liveness: LivenessTimes;
  /** How long a socket may stay without joining a room or registering. */
  joinDeadlineMs: number;
  /** Web origins whose pages may connect; empty: the server's own origin only. */
  allowedOrigins: readonly string[];
  /** Signaling sockets one source address may hold. */
  socketsPerAddress: number;
}

/** Policy violations (RFC 6455): the client is refused, with the reason. */
const POLICY_CLOSE = 1008;

/** Every peer (browser or service) talks to the bridge over one WebSocket here. */
export const signalingRoute: FastifyPluginAsync<SignalingRouteOptions> = async (app, options) => {
  const { liveness, joinDeadlineMs, allowedOrigins, socketsPerAddress, hostWaits, ...sessionOptions } = options;
  const allowed = new Set(allowedOrigins.map((origin) => new URL(origin).origin));
  const connections = new ConnectionsPerAddress(socketsPerAddress);
  const passwordAttempts = new PasswordAttempts();
  app.get(
    SIGNALING_PATH,
    {
      websocket: true,
      schema: { hide: true },
      // Before the upgrade, so another site's page gets a plain 403 and no socket.
      preValidation: async (request, reply) => {
        const origin = request.headers.origin;
        if (origin === undefined || originAllowed(origin, request, allowed, options.directory)) return;
        options.logger.warn({ remote: request.ip, origin }, 'signaling WebSocket refused: origin not allowed (see ALLOWED_ORIGINS)');
        await reply.code(403).type('text/plain').send(`origin ${origin} may not open this bridge's signaling socket (ALLOWED_ORIGINS)`);
      },
    },
    (socket, request) => {
      const logger = options.logger.child({ remote: request.ip });
      // After the upgrade, so the client can read why (a browser sees no HTTP refusal's body).
      if (!connections.open(request.ip)) {
        logger.warn({ socketsPerAddress }, 'signaling socket refused: too many from this address');
        socket.close(POLICY_CLOSE, `too many connections from your address (at most ${socketsPerAddress})`);
        return;
      }
      // A gateway carries a socket per call and a recorder one per recording,
      // from one address: once a socket proves it is a service, it is not a
      // stranger's and stops counting.
      let counted = true;
      const uncount = () => {
        if (counted) connections.close(request.ip);
        counted = false;
      };
      socket.once('close', uncount);
      const session = new SignalingSession(socket, {
        ...sessionOptions,
        hostWaits,
        passwordAttempts,
        address: request.ip,
        reachedAt: request.socket.localAddress,
        servicePresented: uncount,
        logger,
      });
      dropWhenSilent(socket, liveness, logger);
      const deadline = setTimeout(() => {
        if (session.identified) return;
        logger.debug({ joinDeadlineMs }, 'signaling socket closed: no join in time');
        socket.close(LIVENESS_CLOSE.joinDeadline.code, LIVENESS_CLOSE.joinDeadline.reason);
      }, joinDeadlineMs);
      socket.once('close', () => clearTimeout(deadline));
    },
  );
};

/**
 * A browser names the page that opens a WebSocket in Origin, and nothing else
 * stops another site's page from opening ours with its visitor's network
 * position. Allowed: the listed origins or, with none listed, the origin this
 * request was made to (its Host, by HTTPS or, over plain HTTP, by either
 * scheme: a TLS proxy in front keeps the Host while the browser speaks HTTPS).
 * Either way, the deployment's bridges' origins (signed records of the room
 * directory, seen within the hour): a page served by a bridge that died
 * rejoins its room here.
 */
function originAllowed(origin: string, request: FastifyRequest, allowed: ReadonlySet<string>, directory: BridgeDirectory | undefined): boolean {
  let normalized: string;
  try {
    normalized = new URL(origin).origin;
  } catch {
    return false; // 'null' (a sandboxed page or a file) and garbage
  }
  if (directory?.isBridgeOrigin(normalized)) return true;
  if (allowed.size > 0) return allowed.has(normalized);
  const host = request.headers.host;
  if (!host) return false;
  const schemes = request.protocol === 'https' ? ['https'] : ['http', 'https'];
  return schemes.some((scheme) => URL.parse(`${scheme}://${host}`)?.origin === normalized);
}

/**
 * Pings the socket and destroys it once it has not answered for the timeout
 * (a half-open connection would otherwise keep its peer in the room for
 * hours). Destroyed, not closed: a closing handshake would wait on the same
 * silence. Its 'close' then removes the peer as any disconnect does.
 */
function dropWhenSilent(socket: WebSocket, { pingIntervalMs, timeoutMs }: LivenessTimes, logger: Logger): void {
  const silence = setTimeout(() => {
    logger.info({ timeoutMs }, 'signaling socket stopped answering pings; dropping it');
    socket.terminate();
  }, timeoutMs);
  const pinger = setInterval(() => socket.ping(), pingIntervalMs);
  socket.on('pong', () => silence.refresh());
  socket.once('close', () => {
    clearTimeout(silence);
    clearInterval(pinger);
  });
}
