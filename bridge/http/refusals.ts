import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RequestError } from '../signaling/RequestError.ts';

/** A refusal (unknown room, participant or recording; a destination not allowed; nothing to serve it) as an HTTP status. */
function statusOf(error: RequestError): 403 | 404 | 409 | 503 {
  if (error.code === 'forbidden') return 403;
  if (error.code === 'notFound') return 404;
  if (error.code === 'unavailable') return 503;
  return 409;
}

/**
 * REST error handler: refusals carry their reason with a fitting status;
 * anything else (validation, bugs) is fastify's to handle.
 */
export function replyWithRefusal(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof RequestError) return reply.code(statusOf(error)).send({ error: error.message });
  throw error;
}
