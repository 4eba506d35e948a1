import type { FastifyPluginAsync } from 'fastify';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkerPool } from '../media/WorkerPool.ts';
import { sameSecret } from '../../common/sameSecret.ts';
import { Room } from '../rooms/Room.ts';

/**
 * Prometheus metrics: what each media worker carries and the CPU it uses.
 * `token` (METRICS_TOKEN): scrapers must send `Authorization: Bearer <token>`;
 * unset, /metrics is open.
 */
export const metricsRoute: FastifyPluginAsync<{ pool: WorkerPool; token: string | undefined }> = async (app, { pool, token }) => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bridge_' });

  const perWorker = (name: string, help: string, count: (room: Room) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['worker'],
      registers: [registry],
      collect() {
        for (const w of pool.workers) {
          let total = 0;
          for (const tenant of w.tenants) if (tenant instanceof Room) total += count(tenant);
          this.set({ worker: String(w.index) }, total);
        }
      },
    });
  perWorker('bridge_rooms', 'Rooms hosted by each media worker', () => 1);
  perWorker('bridge_peers', 'Peers in rooms of each media worker', (room) => room.counts().peers);
  perWorker('bridge_producers', 'Producers on each media worker', (room) => room.counts().producers);
  perWorker('bridge_consumers', 'Consumers on each media worker', (room) => room.counts().consumers);

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
