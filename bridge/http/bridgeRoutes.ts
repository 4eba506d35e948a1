import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { BridgeDrain } from '../BridgeDrain.ts';
import { MAX_DRAIN_TIMEOUT_SECONDS } from '../config.ts';

const drainStateSchema = z.object({
  draining: z.boolean(),
  startedBy: z.enum(['SIGTERM', 'operator']).optional(),
  deadline: z.string().optional().describe('ISO time: the rooms still open then are closed and the bridge stops'),
  rooms: z.number().int().describe('rooms this bridge still hosts'),
  participants: z.number().int().describe('participants in them (recorders and other services not counted)'),
});

const drainBodySchema = z
  .object({
    timeoutSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_DRAIN_TIMEOUT_SECONDS, `at most ${MAX_DRAIN_TIMEOUT_SECONDS} s`)
      .optional()
      .describe('how long the rooms get to end (default BRIDGE_DRAIN_TIMEOUT_SECONDS)'),
  })
  .strict()
  // No body at all (the usual call) reaches the schema as null.
  .nullish();

/** This bridge itself (not a room): its drain state, and draining it before it stops. */
export const bridgeRoutes: FastifyPluginAsync<{ drain: BridgeDrain }> = async (fastify, { drain }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();

  app.get(
    '/api/bridge',
    { schema: { tags: ['bridge'], summary: 'This bridge: whether it drains, and the rooms and participants it still hosts', response: { 200: drainStateSchema } } },
    async () => drain.state(),
  );

  app.post(
    '/api/bridge/drain',
    {
      schema: {
        tags: ['bridge'],
        summary: 'Drain this bridge: no new rooms; it stops once its rooms have ended, or at the deadline',
        description:
          'New rooms go to other bridges of the room directory (a join that would open one here is refused when none can take it); ' +
          'rooms under way take joins until their participants have left. A second call keeps the drain, bringing its deadline forward if sooner.',
        body: drainBodySchema,
        response: { 202: drainStateSchema },
      },
    },
    async (request, reply) => reply.code(202).send(drain.start('operator', request.body?.timeoutSeconds)),
  );
};
