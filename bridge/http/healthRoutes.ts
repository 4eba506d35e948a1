import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DialOuts } from '../dialOut/DialOuts.ts';
import { trunkRegistrationSchema } from '../../protocol/protocol.ts';
import type { WorkerPool } from '../media/WorkerPool.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';

const healthSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  /**
   * This bridge's id in the room directory (absent without REDIS_URL): other
   * bridges probing a room's recorded home want it, since a bridge restarted
   * at the same URL answers under a new id, without the old one's rooms.
   */
  bridgeId: z.string().optional(),
  mediaWorkers: z.object({ alive: z.number().int(), configured: z.number().int() }),
  rooms: z.number().int(),
  /** Connected SIP gateways and their trunk registrations (informational: they do not make the bridge unready). */
  sipGateways: z.array(
    z.object({
      name: z.string(),
      dialOut: z.boolean(),
      activeDialOuts: z.number().int(),
      trunkRegistration: trunkRegistrationSchema.nullable(),
    }),
  ),
});

/** Readiness: 200 while every media worker runs, 503 otherwise. */
export const healthRoutes: FastifyPluginAsync<{ pool: WorkerPool; registry: RoomRegistry; dialOuts: DialOuts; bridgeId: string | undefined }> = async (
  fastify,
  { pool, registry, dialOuts, bridgeId },
) => {
  fastify.withTypeProvider<ZodTypeProvider>().get(
    '/healthz',
    // Open to anyone (load balancers, orchestrators): no security requirement.
    { schema: { tags: ['operations'], summary: 'Readiness', security: [], response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      const alive = pool.aliveCount;
      const configured = pool.workers.length;
      const ready = alive === configured && alive > 0;
      return reply.code(ready ? 200 : 503).send({
        status: ready ? 'ok' : 'degraded',
        bridgeId,
        mediaWorkers: { alive, configured },
        rooms: registry.size,
        sipGateways: dialOuts.gateways.map((g) => ({
          name: g.name,
          dialOut: g.dialOut,
          activeDialOuts: g.active.size,
          trunkRegistration: g.trunkRegistration,
        })),
      });
    },
  );
};
