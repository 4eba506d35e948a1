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
 * A port another process holds is skipped.
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

  async open(): Promise<SocketPair> {
    const slots = Math.floor((this.#max - this.#min + 1) / 2);
    for (let tried = 0; tried < slots; tried++) {
      const port = this.#cursor;
      this.#cursor = port + 2 > this.#max - 1 ? this.#min : port + 2;
      if (this.#inUse.has(port)) continue;
      this.#inUse.add(port);
      const pair = await this.#bindPair(port);
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

  async #bindPair(port: number): Promise<SocketPair | null> {
    const rtp = await this.#bind(port);
    if (!rtp) return null;
    const rtcp = await this.#bind(port + 1);
    if (!rtcp) {
      rtp.close();
      return null;
    }
    return { rtp, rtcp, port };
  }

  #bind(port: number): Promise<dgram.Socket | null> {
    const socket = dgram.createSocket(this.#host.includes(':') ? 'udp6' : 'udp4');
    return new Promise((resolve) => {
      socket.once('error', () => {
        socket.close();
        resolve(null);
      });
      socket.bind(port, this.#host, () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
    });
  }
}
