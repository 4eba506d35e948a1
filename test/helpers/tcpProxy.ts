// A TCP relay that can go silent without closing anything: what a client sees
// when its server hangs or a NAT on the way forgets the connection (the
// half-open connection liveness checks exist for).
import net from 'node:net';
import { once } from 'node:events';

export interface TcpProxy {
  /** Where clients connect: host:port. */
  readonly address: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Stops relaying on every connection, current and new; none is closed. */
  freeze(): void;
  /** New connections are relayed again; the frozen ones stay frozen. */
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let frozen = false;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const links: Array<{ client: net.Socket; upstream: net.Socket }> = [];
  const track = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('error', () => {}); // the far side going away is not the test's failure
    socket.once('close', () => sockets.delete(socket));
  };
  const server = net.createServer((client) => {
    accepted++;
    track(client);
    if (frozen) return client.pause(); // accepted, never answered
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A server that refuses or resets ends the client's connection, as a proxy does (a frozen link is not closed).
    upstream.once('error', () => client.destroy());
    links.push({ client, upstream });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    freeze() {
      frozen = true;
      for (const { client, upstream } of links.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    thaw() {
      frozen = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
