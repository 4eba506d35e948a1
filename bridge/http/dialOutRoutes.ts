import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dialOutStateSchema } from '../../protocol/protocol.ts';
import type { DialOutAttempt, DialOutAudit } from '../dialOut/DialOutAudit.ts';

const attemptSchema = z.object({
  id: z.string(),
  at: z.number().int().describe('ms since the epoch'),
  room: z.string(),
  inviter: z.object({ id: z.string().describe('the peer id, or `operator` for REST'), name: z.string() }),
  number: z.string().describe('E.164 once it could be read; else as given'),
  outcome: z.union([z.enum(['refused', 'unavailable']), dialOutStateSchema]).describe('refused by a rule, no gateway, or the call’s (latest) state'),
  rule: z.string().optional().describe('the rule or setting that refused it'),
  reason: z.string().optional(),
  seconds: z.number().int().describe('answered time, once the call is over'),
}) satisfies z.ZodType<DialOutAttempt>;

/** The operator's audit of dial-out: every attempt, placed or refused, newest first. */
export const dialOutRoutes: FastifyPluginAsync<{ audit: DialOutAudit }> = async (fastify, { audit }) => {
  fastify.withTypeProvider<ZodTypeProvider>().get(
    '/api/dial-outs',
    {
      schema: {
        tags: ['dial-out'],
        summary: 'Every dial-out attempt (placed or refused) since the bridge started, newest first (the latest 1000)',
        response: { 200: z.object({ attempts: z.array(attemptSchema) }) },
      },
    },
    async () => ({ attempts: audit.list() }),
  );
};
