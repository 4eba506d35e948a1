import type { FastifyPluginAsync } from 'fastify';
import type { CascadeLinks, LinkRefusal } from '../cascade/CascadeLinks.ts';
import type { LinkClaim } from '../cascade/linkToken.ts';
import type { Logger } from '../../common/logger.ts';
import { CASCADE_LINK_PATH } from '../../protocol/cascade.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of the cascade link route, once its token checked out. */
    linkClaim?: LinkClaim;
  }
}

/**
 * Where another bridge of the deployment opens a cascade link, to serve one
 * of this bridge's rooms as its satellite. The caller is checked before the
 * upgrade (a stranger gets a plain 401 or 403 and no socket).
 */
export const cascadeRoute: FastifyPluginAsync<{ cascade: CascadeLinks; logger: Logger }> = async (app, { cascade, logger }) => {
  app.get(
    CASCADE_LINK_PATH,
    {
      websocket: true,
      schema: { hide: true },
      preValidation: async (request, reply) => {
        const checked = cascade.check(request.headers.authorization);
        if ('status' in checked) {
          const refusal: LinkRefusal = checked;
          logger.warn({ remote: request.ip, why: refusal.message }, 'cascade link refused');
          await reply.code(refusal.status).type('text/plain').send(refusal.message);
          return;
        }
        request.linkClaim = checked;
      },
    },
    (socket, request) => {
      void cascade.accept(socket, request.linkClaim!).catch((error: unknown) => {
        logger.warn({ err: error }, 'cascade link failed while opening');
        socket.close(1011, 'could not open the link');
      });
    },
  );
};
