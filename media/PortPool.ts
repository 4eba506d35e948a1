import dgram from 'node:dgram';

export class PortsExhaustedError extends Error {
  constructor(min: number, max: number) {
    super(`no free RTP port pair in ${min}-${max}`);
    this.name = 'PortsExhaustedError';
  }
}

/** An RTP socket on an even port and its RTCP socket on the next one (RFC 3550). */
export interface SocketPair {
  rtp: dgram.Socket;
  rtcp: dgram.Socket;
  port: number;
}

/**
 * Hands out RTP/RTCP port pairs from a configured range, round-robin so a
 * port just released is not reused at once (late packets of the old call).
 * A port another process holds (on any address) is skipped for the next one.
 */
export class PortPool {
  readonly #host: string;
  readonly #min: number;
  readonly #max: number;
  readonly #inUse = new Set<number>();
  #cursor: number;

  constructor(host: string, min: number, max: number) {
    this.#host = host;
    this.#min = min + (min % 2);
    this.#max = max;
    this.#cursor = this.#min;
  }

  get inUse(): number {
    return this.#inUse.size;
  }

  /**
   * A free pair bound to `host` (default: the pool's address). Sockets facing
   * another service are bound to the exact address they declare, so their
   * packets leave from it whatever addresses the host has.
   */
  async open(host = this.#host): Promise<SocketPair> {
    const slots = Math.floor((this.#max - this.#min + 1) / 2);
    for (let tried = 0; tried < slots; tried++) {
      const port = this.#cursor;
      this.#cursor = port + 2 > this.#max - 1 ? this.#min : port + 2;
      if (this.#inUse.has(port)) continue;
      this.#inUse.add(port);
      const pair = await this.#bindPair(host, port).catch((error: unknown) => {
        this.#inUse.delete(port);
        throw error;
      });
      if (pair) return pair;
      this.#inUse.delete(port);
    }
    throw new PortsExhaustedError(this.#min, this.#max);
  }

  release(pair: SocketPair): void {
    for (const socket of [pair.rtp, pair.rtcp]) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.#inUse.delete(pair.port);
  }

  async #bindPair(host: string, port: number): Promise<SocketPair | null> {
    const rtp = await this.#bind(host, port);
    if (!rtp) return null;
    const rtcp = await this.#bind(host, port + 1).catch((error: unknown) => {
      rtp.close();
      throw error;
    });
    if (!rtcp) {
      rtp.close();
      return null;
    }
    return { rtp, rtcp, port };
  }

  /** The socket, or null when another socket holds the port; any other failure (an address not of this host) throws. */
  #bind(host: string, port: number): Promise<dgram.Socket | null> {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      socket.once('error', (error: NodeJS.ErrnoException) => {
        socket.close();
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(null);
        else reject(new Error(`cannot bind an RTP port on ${host}: ${error.message}`));
      });
      socket.bind(port, host, () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  }
}
