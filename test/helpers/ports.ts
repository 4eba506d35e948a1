import dgram from 'node:dgram';
import net from 'node:net';

// Below Linux's ephemeral range (32768-60999 by default), from which every
// outgoing connection and port-0 bind draws: a port found free there can be
// taken by one of them before the server under test binds it.
// Above the product's default media ports (10000-14999).
// Test files run two at a time (vitest.config.ts: the integration project,
// and the unit one on 2 cores), each in its own process: each worker draws
// from its own half of the range (by vitest's VITEST_POOL_ID, 1 to
// maxWorkers), so two files never pick the same port.
const SLICES = 2;
const SLICE_PORTS = 8_000;
const slice = (Number(process.env.VITEST_POOL_ID ?? 1) - 1) % SLICES;
const LOWEST = 16_000 + slice * SLICE_PORTS;
const HIGHEST = LOWEST + SLICE_PORTS;

// Ports handed out in this test process, with room for the neighbours some
// peers also bind (sipp's media port + 1 to + 3). A range is only bound when its
// server gets to it, so "free now" is not enough to keep two apart.
const NEIGHBOURS = 3;
const handedOut: { from: number; to: number }[] = [];

/** A port free for both TCP and UDP on all interfaces right now, and not handed out before. */
export function freePort(): Promise<number> {
  return freePortRange(1);
}

/** `count` consecutive ports, each free for TCP and UDP, overlapping none handed out before. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST - count - NEIGHBOURS));
    const to = base + count - 1 + NEIGHBOURS;
    if (handedOut.some((range) => base <= range.to && range.from <= to)) continue;
    let ok = true;
    for (let port = base; ok && port < base + count; port++) ok = await isFree(port);
    if (!ok) continue;
    handedOut.push({ from: base, to });
    return base;
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
