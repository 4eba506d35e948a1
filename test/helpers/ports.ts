import dgram from 'node:dgram';
import net from 'node:net';

// Below Linux's ephemeral range (32768-60999 by default), from which every
// outgoing connection and port-0 bind draws: a port found free there can be
// taken by one of them before the server under test binds it.
const LOWEST = 10_000;
const HIGHEST = 32_000;

/** A port free for both TCP and UDP on all interfaces right now. */
export function freePort(): Promise<number> {
  return freePortRange(1);
}

/** `count` consecutive ports, each free for TCP and UDP. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST - count));
    let ok = true;
    for (let port = base; ok && port < base + count; port++) ok = await isFree(port);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

async function isFree(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, () => socket.close(() => resolve(true)));
  });
}
