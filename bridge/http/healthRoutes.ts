import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { WorkerPool } from '../media/WorkerPool.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  mediaWorkers: z.object({ alive: z.number().int(), configured: z.number().int() }),
  rooms: z.number().int(),
});

/** Readiness: 200 while every media worker runs, 503 otherwise. */
export const healthRoutes: FastifyPluginAsync<{ pool: WorkerPool; registry: RoomRegistry }> = async (
  fastify,
  { pool, registry },
) => {
  fastify.withTypeProvider<ZodTypeProvider>().get(
    '/healthz',
    { schema: { tags: ['operations'], summary: 'Readiness', response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      const alive = pool.aliveCount;
      const configured = pool.workers.length;
      const ready = alive === configured && alive > 0;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ok' : 'degraded',
        mediaWorkers: { alive, configured },
        rooms: registry.size,
      });
    },
  );
};
