import type { FastifyPluginAsync } from 'fastify';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import type { Logger } from '../../common/logger.ts';
import type { Recordings } from '../recording/Recordings.ts';
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
}

/** Every peer (browser or service) talks to the bridge over one WebSocket here. */
export const signalingRoute: FastifyPluginAsync<SignalingRouteOptions> = async (app, options) => {
  app.get(SIGNALING_PATH, { websocket: true, schema: { hide: true } }, (socket, request) => {
    new SignalingSession(socket, {
      ...options,
      reachedAt: request.socket.localAddress,
      logger: options.logger.child({ remote: request.ip }),
    });
  });
};
