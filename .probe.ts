import net from 'node:net';
import { createLogger } from './bridge/logger.ts';
import { LocalRedis, LocalRedisError } from './localRedis.ts';
const logger = createLogger('debug', 'probe');
const mode = process.argv[2];
let srv: net.Server | undefined;
if (mode === 'taken') { srv = net.createServer((s) => s.end('HTTP/1.1 400 Bad\r\n\r\n')); await new Promise<void>((r) => srv!.listen(6379, '127.0.0.1', () => r())); }
if (mode === 'noauth') { srv = net.createServer((s) => s.on('data', () => s.write('-NOAUTH Authentication required.\r\n'))); await new Promise<void>((r) => srv!.listen(6379, '127.0.0.1', () => r())); }
try {
  const t = Date.now();
  const r = await LocalRedis.start('/tmp/probe-redis', logger);
  console.log('started in', Date.now() - t);
  if (mode === 'twice') { const r2 = await LocalRedis.start('/tmp/probe-redis', logger); await r2.stop(); }
  await r.stop();
} catch (e) { console.log(e instanceof LocalRedisError, (e as Error).message); }
srv?.close();
