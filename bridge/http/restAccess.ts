import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { mayCall, RestAuth, ROUTE_PERMISSIONS, Unauthenticated } from '../auth/RestAuth.ts';

const API_PREFIX = '/api/';

/** What OpenAPI (/docs) declares: every /api route takes one of these. */
export const restSecuritySchemes = {
  bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A JWT signed (HS256) with the API secret, issuer: the API key, audience: telebridge:api' },
  basic: { type: 'http', scheme: 'basic', description: 'The API key as user name and the API secret as password' },
} as const;

/**
 * Puts every /api route behind RestAuth, on the root instance so it covers
 * routes registered after it. A route under /api missing from
 * ROUTE_PERMISSIONS stops startup: a new route is closed until someone
 * decides who may call it.
 */
export function installRestAccess(app: FastifyInstance, auth: RestAuth): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(API_PREFIX)) return;
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue; // fastify's automatic HEAD for a GET
      if (!ROUTE_PERMISSIONS[`${method} ${route.url}`]) throw new Error(`REST route ${method} ${route.url} has no permission in ROUTE_PERMISSIONS`);
    }
  });
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const route = request.routeOptions.url;
    if (!route?.startsWith(API_PREFIX)) return;
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    const permission = ROUTE_PERMISSIONS[`${method} ${route}`];
    if (!permission) return reply.code(403).send({ error: `forbidden: ${method} ${route} is not open to anyone` });
    const query = request.query as Record<string, unknown> | undefined;
    const queryToken = typeof query?.access_token === 'string' ? query.access_token : undefined;
    let caller;
    try {
      caller = await auth.authenticate(request.headers.authorization, queryToken);
    } catch (error) {
      if (!(error instanceof Unauthenticated)) throw error;
      reply.header('www-authenticate', 'Bearer realm="telebridge", Basic realm="telebridge"');
      return reply.code(401).send({ error: error.message });
    }
    const params = request.params as Record<string, unknown> | undefined;
    const room = typeof params?.room === 'string' ? params.room : undefined;
    if (!mayCall(caller, permission, room)) {
      return reply.code(403).send({ error: `forbidden: ${permission}${room ? ` on room ${room}` : ''} is not granted to this ${caller.kind}` });
    }
  });
}
