import dgram from 'node:dgram';

/**
 * The address this host sends from to reach `destination`: the kernel's own
 * route lookup, done by connecting a UDP socket (which sends nothing). A
 * socket bound to it declares, and really sends from, the same address.
 */
export async function sourceAddressToward(destination: string): Promise<string> {
  const socket = dgram.createSocket(destination.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Any port: connect() on UDP only picks the route and the local address.
      socket.connect(9, destination, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

