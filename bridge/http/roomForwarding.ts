import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fetch, type Dispatcher, type Response } from 'undici';
import type { BridgeDirectory } from '../directory/BridgeDirectory.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';

/** Marks a request one bridge forwarded to another (the bridge's id): it is answered there, never forwarded again. */
export const FORWARDED_HEADER = 'x-telebridge-forwarded-by';
/** How long the room's bridge may take to answer a forwarded request. */
const FORWARD_TIMEOUT_MS = 10_000;
/** Request headers that go along: who is asking, and what the body is. */
const FORWARDED_HEADERS = ['authorization', 'content-type', 'accept'] as const;
/** Answer headers that come back: what the body is, and why a request was refused. */
const ANSWER_HEADERS = ['content-type', 'content-disposition', 'retry-after', 'www-authenticate'] as const;

/**
 * The room's bridge's address for this request: its URL with this request's
 * path and query, nothing else. Undefined for a request line that is not a
 * plain path (an absolute URL, which would name another host; dot segments,
 * which would name another route): those are not forwarded.
 */
export function forwardTarget(requestUrl: string, homeUrl: string): URL | undefined {
  if (!requestUrl.startsWith('/') || requestUrl.startsWith('//')) return undefined;
  const { pathname, search } = new URL(requestUrl, 'http://forward.invalid');
  if (pathname + search !== requestUrl) return undefined;
  const target = new URL(homeUrl);
  target.pathname = pathname;
  target.search = search;
  return target;
}

/**
 * REST about a room may be called on any bridge: a room that lives on
 * another bridge (the directory says so) has its request forwarded there,
 * also when this bridge serves it as that bridge's satellite (cascading: the
 * copy here is not the meeting: closing it, or recording through it, would
 * get around its home),
 * after this bridge's own checks (rate limit, credentials: every bridge of a
 * deployment shares API_KEY/API_SECRET), and the answer passed back as it is.
 * A forward and not a redirect: fetch drops Authorization on a redirect to
 * another origin. Routes under /api/rooms/:room only. `dispatcher`: how the
 * other bridges' certificates are checked (bridgeToBridge).
 */
export function installRoomForwarding<L extends FastifyBaseLogger>(
  app: FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, L>,
  registry: RoomRegistry,
  directory: BridgeDirectory,
  dispatcher: Dispatcher | undefined,
): void {
  app.addHook('preHandler', async (request, reply) => {
    const room = (request.params as { room?: unknown } | undefined)?.room;
    if (typeof room !== 'string' || !request.routeOptions.url?.startsWith('/api/rooms/:room')) return;
    const local = registry.get(room);
    if ((local && local.homeBridge === undefined) || request.headers[FORWARDED_HEADER] !== undefined) return;
    const home = await directory.elsewhere(room);
    if (!home) return; // nowhere else: answered here (404 if no such room)
    const target = forwardTarget(request.url, home.url);
    if (!target) return reply.code(400).send({ error: 'the request path must be a plain path (no host, no . or .. segments) to be sent to the room\'s bridge' });
    const headers: Record<string, string> = { [FORWARDED_HEADER]: directory.id };
    for (const name of FORWARDED_HEADERS) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let answer: Response;
    let body: Buffer;
    try {
      answer = await fetch(target, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
        ...(dispatcher && { dispatcher }),
      });
      body = Buffer.from(await answer.arrayBuffer());
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      request.log.warn({ err: error, room, bridge: home.id }, 'cannot forward a REST request to the room\'s bridge');
      return reply.code(502).send({ error: `room ${room} is on bridge ${home.id}, which ${timedOut ? `did not answer within ${FORWARD_TIMEOUT_MS / 1000} s` : 'cannot be reached'}` });
    }
    reply.code(answer.status);
    for (const name of ANSWER_HEADERS) {
      const value = answer.headers.get(name);
      if (value) reply.header(name, value);
    }
    return reply.send(body);
  });
}
