// HTTP_PORT when the bridge serves HTTPS: browsers elsewhere are sent to
// HTTPS (they get camera and microphone only there), while this host's own
// services (the all-in-one's gateway and recorder, a local proxy) and health
// checks keep plain HTTP, answered by the same app as HTTPS.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { HttpServer } from './app.ts';

const loopback = new net.BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Whether a request comes from this host (over loopback). */
export function fromLoopback(remoteAddress: string | undefined): boolean {
  if (!remoteAddress) return false;
  const address = remoteAddress.replace(/^::ffff:(?=\d+\.)/, '');
  return loopback.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Where `url` lives over HTTPS: the same host name as asked for, the HTTPS port. */
export function httpsLocation(host: string | undefined, url: string, httpsPort: number): string | undefined {
  if (!host) return undefined;
  let hostname: string;
  try {
    hostname = new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
  return `https://${hostname}${httpsPort === 443 ? '' : `:${httpsPort}`}${url}`;
}

export function httpsRedirectServer(app: HttpServer, httpsPort: number): http.Server {
  const passes = (req: http.IncomingMessage) => fromLoopback(req.socket.remoteAddress) || req.url === '/healthz';
  const server = http.createServer((req, res) => {
    if (passes(req)) {
      app.routing(req, res);
      return;
    }
    const location = httpsLocation(req.headers.host, req.url ?? '/', httpsPort);
    if (location) res.writeHead(308, { location }).end();
    else res.writeHead(400, { 'content-type': 'text/plain' }).end('use HTTPS');
  });
  // WebSocket upgrades (/ws) from this host go to the app's own upgrade handling; others must use wss.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    if (fromLoopback(req.socket.remoteAddress)) app.server.emit('upgrade', req, socket, head);
    else socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  return server;
}
