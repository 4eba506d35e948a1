import type { FastifyPluginAsync } from 'fastify';
import type { WebSocket } from 'ws';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import type { Logger } from '../../common/logger.ts';
import type { JoinTokens } from '../auth/JoinTokens.ts';
import type { RestAuth } from '../auth/RestAuth.ts';
import type { Recordings } from '../recording/Recordings.ts';
import { LIVENESS_CLOSE, type LivenessTimes } from '../../protocol/liveness.ts';
import { SIGNALING_PATH } from '../../protocol/protocol.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import { SignalingSession } from '../signaling/SignalingSession.ts';

export interface SignalingRouteOptions {
  registry: RoomRegistry;
  logger: Logger;
  maxMessageBytes: number;
  dialInNumbers: readonly string[];
  dialOuts: DialOuts;
  recordings: Recordings;
  serviceSecret: string | undefined;
  /** Issues each joined peer its token for REST about its room. */
  restAuth: RestAuth;
  joinTokens: JoinTokens;
  /** How often sockets are pinged and how long one may stay silent. */
  liveness: LivenessTimes;
  /** How long a socket may stay without joining a room or registering. */
  joinDeadlineMs: number;
}

/** Every peer (browser or service) talks to the bridge over one WebSocket here. */
export const signalingRoute: FastifyPluginAsync<SignalingRouteOptions> = async (app, options) => {
  const { liveness, joinDeadlineMs, ...sessionOptions } = options;
  app.get(SIGNALING_PATH, { websocket: true, schema: { hide: true } }, (socket, request) => {
    const logger = options.logger.child({ remote: request.ip });
    const session = new SignalingSession(socket, { ...sessionOptions, reachedAt: request.socket.localAddress, logger });
    dropWhenSilent(socket, liveness, logger);
    const deadline = setTimeout(() => {
      if (session.identified) return;
      logger.debug({ joinDeadlineMs }, 'signaling socket closed: no join in time');
      socket.close(LIVENESS_CLOSE.joinDeadline.code, LIVENESS_CLOSE.joinDeadline.reason);
    }, joinDeadlineMs);
    socket.once('close', () => clearTimeout(deadline));
  });
};

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
