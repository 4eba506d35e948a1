import http from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '../common/logger.ts';

/**
 * The gateway's Prometheus metrics on GET /metrics (GATEWAY_METRICS_PORT).
 * The gateway has no HTTP server of its own otherwise, so this is a bare
 * one; it binds loopback unless GATEWAY_METRICS_HOST says otherwise, as it
 * has no credentials of its own.
 */
export async function serveMetrics(registry: Registry, host: string, port: number, logger: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text))
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'metrics not collected');
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
