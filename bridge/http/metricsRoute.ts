import type { FastifyPluginAsync } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { CascadeLinks } from '../cascade/CascadeLinks.ts';
import type { DialOutTotals } from '../dialOut/DialOutAudit.ts';
import type { WorkerPool } from '../media/WorkerPool.ts';
import { sameSecret } from '../../common/sameSecret.ts';
import { RoomRouter } from '../rooms/RoomRouters.ts';

/**
 * Prometheus metrics: what each media worker carries and the CPU it uses;
 * dial-out attempts, refusals, outcomes and minutes.
 * `token` (METRICS_TOKEN): scrapers must send `Authorization: Bearer <token>`;
 * unset, /metrics is open.
 */
export const metricsRoute: FastifyPluginAsync<{ pool: WorkerPool; dialOutTotals: DialOutTotals; cascade: CascadeLinks | undefined; token: string | undefined }> = async (
  app,
  { pool, dialOutTotals, cascade, token },
) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bridge_' });

  const perWorker = (name: string, help: string, count: (router: RoomRouter) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [registry],
      collect() {
        for (const w of pool.workers) {
          let total = 0;
          for (const tenant of w.tenants) if (tenant instanceof RoomRouter) total += count(tenant);
          this.set({ worker: String(w.index) }, total);
        }
      },
    });
  // A room counts where its home router is; producers and consumers where they are (a room's receivers may spread).
  perWorker('bridge_rooms', 'Rooms whose home router is on each media worker', (router) => (router.homeOf ? 1 : 0));
  perWorker('bridge_peers', 'Peers in rooms whose home router is on each media worker', (router) => router.homeOf?.load ?? 0);
  perWorker('bridge_producers', 'Producers on each media worker', (router) => router.producers);
  perWorker('bridge_consumers', 'Consumers on each media worker', (router) => router.consumers);

  if (cascade) {
    new Gauge({
      name: 'bridge_cascade_links',
      help: 'Cascade links open with other bridges (one per room and other bridge)',
      registers: [registry],
      collect() {
        this.set(cascade.counts().links);
      },
    });
    new Gauge({
      name: 'bridge_cascade_piped_producers',
      help: 'Producers piped over cascade links: out (ours, to other bridges) and in (theirs, here); each once per link',
      labelNames: ['direction'],
      registers: [registry],
      collect() {
        const { producersOut, producersIn } = cascade.counts();
        this.set({ direction: 'out' }, producersOut);
        this.set({ direction: 'in' }, producersIn);
      },
    });
  }

  new Gauge({
    name: 'bridge_worker_cpu_seconds',
    help: 'CPU time (user + system) used by each media worker process since it started',
    labelNames: ['worker'],
    registers: [registry],
    async collect() {
      await Promise.all(
        pool.workers.map(async (w) => {
          if (w.worker.closed) return;
          const usage = await w.worker.getResourceUsage();
          this.set({ worker: String(w.index) }, (usage.ru_utime + usage.ru_stime) / 1000);
        }),
      );
    },
  });

  const fromTotals = (name: string, help: string, label: string, counts: Map<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, n] of counts) this.inc({ [label]: value }, n);
      },
    });
  fromTotals('bridge_dial_out_attempts_total', 'Dial-out attempts by outcome: placed, refused (by a rule), unavailable (no gateway)', 'outcome', dialOutTotals.attempts);
  fromTotals('bridge_dial_out_refusals_total', 'Dial-out attempts refused, by the rule that refused them', 'rule', dialOutTotals.refusals);
  fromTotals('bridge_dial_out_calls_total', 'Placed dial-out calls that ended, by final state', 'state', dialOutTotals.calls);
  new Counter({
    name: 'bridge_dial_out_seconds_total',
    help: 'Answered time of ended dial-out calls',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(dialOutTotals.seconds);
    },
  });

  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (token) {
      const [scheme, given] = (request.headers.authorization ?? '').split(/\s+/, 2);
      if (!/^bearer$/i.test(scheme ?? '') || !given || !sameSecret(given, token)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="telebridge metrics"')
          .send({ error: request.headers.authorization ? 'wrong metrics token' : 'metrics token required: Authorization: Bearer <METRICS_TOKEN>' });
      }
    }
    reply.type(registry.contentType);
    return registry.metrics();
  });
};
