import type { RateLimitPluginOptions } from '@fastify/rate-limit';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { mayCall, type Permission, RestAuth, ROUTE_PERMISSIONS, Unauthenticated } from '../auth/RestAuth.ts';

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
 *
 * The check runs at preParsing: after the rate limit (an onRequest hook), so
 * guessing credentials is limited too, and before any body is parsed.
 */
export function installRestAccess<L extends FastifyBaseLogger>(app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>, auth: RestAuth): void {
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith(API_PREFIX)) return;
    const methods = [route.method].flat();
    const permissions = new Map<string, Permission>();
    for (const method of methods) {
      // fastify's automatic HEAD for a GET needs what the GET needs.
      const permission = ROUTE_PERMISSIONS[`${method === 'HEAD' ? 'GET' : method} ${route.url}`];
      if (!permission) throw new Error(`REST route ${method} ${route.url} has no permission in ROUTE_PERMISSIONS`);
      permissions.set(method, permission);
    }
    const check = async (request: FastifyRequest, reply: FastifyReply) => {
      if (await refused(auth, request, reply, permissions.get(request.method)!)) return reply;
    };
    route.preParsing = [...[route.preParsing ?? []].flat(), check];
  });
}

/** Replies 401 or 403 saying why, when the caller may not do this; true if it did. */
async function refused(auth: RestAuth, request: FastifyRequest, reply: FastifyReply, permission: Permission): Promise<boolean> {
  const query = request.query as Record<string, unknown> | undefined;
  const queryToken = typeof query?.access_token === 'string' ? query.access_token : undefined;
  let caller;
  try {
    caller = await auth.authenticate(request.headers.authorization, queryToken);
  } catch (error) {
    if (!(error instanceof Unauthenticated)) throw error;
    reply.code(401).header('www-authenticate', 'Bearer realm="telebridge", Basic realm="telebridge"').send({ error: error.message });
    return true;
  }
  const params = request.params as Record<string, unknown> | undefined;
  const room = typeof params?.room === 'string' ? params.room : undefined;
  if (mayCall(caller, permission, room)) return false;
  reply.code(403).send({ error: `forbidden: ${permission}${room ? ` on room ${room}` : ''} is not granted to this ${caller.kind}` });
  return true;
}

/** Too many REST requests from one address. */
export class RestRateLimited extends Error {
  readonly statusCode = 429;
  constructor(message: string) {
    super(message);
    this.name = 'RestRateLimited';
  }
}

/**
 * @fastify/rate-limit for the /api routes (register it in their context):
 * `perMinute` requests a minute per source address, then 429 saying when to
 * come back.
 */
export function restRateLimit(perMinute: number): RateLimitPluginOptions {
  return {
    max: perMinute,
    timeWindow: 60_000,
    errorResponseBuilder: (_request, context) =>
      new RestRateLimited(`rate limited: at most ${context.max} REST requests a minute from one address (REST_RATE_LIMIT_PER_MINUTE); try again in ${context.after}`),
  };
}

/** Replies to a rate-limit refusal as to any other, with `{ error }`. */
export function replyToRateLimit(error: Error, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof RestRateLimited) return reply.code(429).send({ error: error.message });
  throw error;
}
