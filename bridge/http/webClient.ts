import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';

/** Paths the single-page web client must never shadow. */
const RESERVED = /^\/(api|docs|ws|healthz|metrics)(\/|$)/;

/**
 * Serves the built web client; any other GET (a room URL such as /standup)
 * gets its index.html so the client can route.
 */
export const webClient: FastifyPluginAsync<{ distDir: string }> = async (app, { distDir }) => {
  const indexFile = path.join(distDir, 'index.html');
  if (!fs.existsSync(indexFile)) {
    app.log.warn({ distDir }, 'web client is not built (npm run build); serving the API only');
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: `not found: ${request.method} ${request.url}` });
    });
    return;
  }
  await app.register(fastifyStatic, { root: distDir, wildcard: false, index: false });
  app.setNotFoundHandler((request, reply) => {
    if (request.method !== 'GET' || RESERVED.test(request.url)) {
      reply.code(404).send({ error: `not found: ${request.method} ${request.url}` });
      return;
    }
    reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
};
