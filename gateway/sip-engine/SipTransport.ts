import dgram from 'node:dgram';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../../common/logger.ts';
import { StreamFramer } from './StreamFramer.ts';

export type Protocol = 'udp' | 'tcp' | 'tls';

export interface Peer {
  protocol: Protocol;
  address: string;
  port: number;
  /** The host name a TLS peer's certificate must carry (the URI's host); its address when unset. */
  serverName?: string;
}

/** SIP over TLS: our certificate for the listener (and for trunks that ask for one), and whom we trust. */
export interface TlsSettings {
  port: number;
  cert: Buffer;
  key: Buffer;
  /** Trusted for outgoing connections besides the system's CAs. */
  ca?: Buffer;
}

export interface TransportHandlers {
  message(data: Buffer, source: Peer): void;
  /** A TCP stream that can no longer be framed; the connection is closed after this returns. */
  brokenStream(reason: string, data: Buffer, source: Peer): void;
  /** A TCP connection closed by the limits below: over the per-source cap, or idle. */
  tcpClosed?(why: 'overLimit' | 'idle', source: Peer): void;
}

export interface TcpLimits {
  /**
   * A connection that completes no message or keep-alive this long is closed: an idle one, and a
   * slowloris one trickling a request byte by byte (any data would keep a plain idle timer going).
   * Dialogs reconnect when they need to send.
   */
  idleMs: number;
  /** Connections at once from one address; more are closed as they are accepted. */
  perSource: number;
}

/** How long a connection whose stream broke is kept for its 400 to arrive before it is closed. */
const BROKEN_STREAM_LINGER_MS = 2000;

const peerKey = (address: string, port: number): string => `${address}:${port}`;
const plainAddress = (address: string | undefined): string => (address ?? '').replace(/^::ffff:/, '');

/**
 * SIP over UDP and TCP on one port, and over TLS on another; stream messages
 * are framed by Content-Length. Outgoing TLS checks the peer's certificate
 * against the system's CAs and the configured one, whether or not we listen.
 */
export class SipTransport {
  #udp: dgram.Socket;
  #tcp: net.Server;
  #tls: tls.Server | undefined;
  #clientTls: tls.SecureContext;
  #connections = new Map<string, net.Socket>();
  #connecting = new Map<string, Promise<net.Socket>>();
  /** Accepted connections open per remote address. */
  #perSource = new Map<string, number>();
  #handlers: TransportHandlers;
  #limits: TcpLimits;
  #logger: Logger;

  private constructor(udp: dgram.Socket, tcp: net.Server, clientTls: tls.SecureContext, handlers: TransportHandlers, limits: TcpLimits, logger: Logger) {
    this.#udp = udp;
    this.#tcp = tcp;
    this.#clientTls = clientTls;
    this.#handlers = handlers;
    this.#limits = limits;
    this.#logger = logger;
  }

  static async open(
    host: string,
    port: number,
    handlers: TransportHandlers,
    limits: TcpLimits,
    logger: Logger,
    tlsSettings?: Partial<TlsSettings>,
  ): Promise<SipTransport> {
    const udp = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    const tcp = net.createServer();
    const clientTls = tls.createSecureContext({
      ca: tlsSettings?.ca ? [...tls.rootCertificates, tlsSettings.ca.toString()] : undefined,
      // Trunks that want mutual TLS get our certificate.
      cert: tlsSettings?.cert,
      key: tlsSettings?.key,
    });
    const transport = new SipTransport(udp, tcp, clientTls, handlers, limits, logger);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(udp.address().port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      udp.close();
      throw error;
    });
    if (tlsSettings?.port !== undefined && tlsSettings.cert && tlsSettings.key) {
      const server = tls.createServer({ cert: tlsSettings.cert, key: tlsSettings.key, handshakeTimeout: 10_000 });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(tlsSettings.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      }).catch(async (error: unknown) => {
        await new Promise<void>((resolve) => tcp.close(() => udp.close(() => resolve())));
        throw error;
      });
      // Handshakes that fail (scanners, wrong versions, a client that distrusts us) are the peer's problem.
      server.on('tlsClientError', (error, socket) => logger.debug({ err: error, peer: socket.remoteAddress }, 'sip tls handshake failed'));
      server.on('connection', (socket: net.Socket) => transport.#admit(socket, 'tls'));
      server.on('secureConnection', (socket) => transport.#adopt(socket, 'tls'));
      server.on('error', (error) => logger.warn({ err: error }, 'sip tls server error'));
      transport.#tls = server;
    }
    udp.on('error', (error) => logger.warn({ err: error }, 'sip udp socket error'));
    udp.on('message', (data, rinfo) => transport.#deliver(data, { protocol: 'udp', address: rinfo.address, port: rinfo.port }));
    tcp.on('connection', (socket) => {
      if (transport.#admit(socket, 'tcp')) transport.#adopt(socket, 'tcp');
    });
    tcp.on('error', (error) => logger.warn({ err: error }, 'sip tcp server error'));
    return transport;
  }

  get port(): number {
    return this.#udp.address().port;
  }

  /** The TLS port bound, when listening for TLS. */
  get tlsPort(): number | undefined {
    return (this.#tls?.address() as net.AddressInfo | null)?.port;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  hasConnection(peer: Peer): boolean {
    return this.#connections.get(peerKey(peer.address, peer.port))?.destroyed === false;
  }

  /**
   * Sends one message; TCP reuses a connection to the peer or opens one.
   *
   * UDP to a port where nothing is bound goes unnoticed: the ICMP port-unreachable never reaches
   * this unconnected socket, so a client transaction retransmits until timer B/F fails it with a
   * 408 (or the peer binds in time and answers). drachtio-server's sofia reads ICMP errors from
   * its socket's error queue (IP_RECVERR) and fails the transaction at once with a local 503.
   * Node exposes no error queue; the only way to see ICMP would be a connected UDP socket per
   * destination sharing the SIP port through SO_REUSEADDR/SO_REUSEPORT, and the kernel then hands
   * that peer's requests to the connected socket, not this one. Not done: ICMP is advisory
   * (firewalls drop it, kernels rate-limit it), so a dead peer must be handled by the timeout
   * anyway, and all it would save is that wait. Tests wait for their peer to be bound instead.
   */
  async send(dest: Peer, data: Buffer): Promise<void> {
    if (dest.protocol === 'udp') {
      await new Promise<void>((resolve, reject) => this.#udp.send(data, dest.port, dest.address, (error) => (error ? reject(error) : resolve())));
      return;
    }
    const existing = this.#connections.get(peerKey(dest.address, dest.port));
    const socket = existing && !existing.destroyed ? existing : await this.#connect(dest);
    socket.write(data);
  }

  async close(): Promise<void> {
    for (const socket of this.#connections.values()) socket.destroy();
    this.#connections.clear();
    const tlsServer = this.#tls;
    await Promise.all([
      new Promise<void>((resolve) => this.#tcp.close(() => resolve())),
      new Promise<void>((resolve) => this.#udp.close(() => resolve())),
      tlsServer && new Promise<void>((resolve) => tlsServer.close(() => resolve())),
    ]);
  }

  #deliver(data: Buffer, source: Peer): void {
    try {
      this.#handlers.message(data, source);
    } catch (error) {
      this.#logger.error({ err: error }, 'sip message handler failed');
    }
  }

  #connect(dest: Peer): Promise<net.Socket> {
    const key = peerKey(dest.address, dest.port);
    let pending = this.#connecting.get(key);
    if (!pending) {
      pending = new Promise<net.Socket>((resolve, reject) => {
        const secure = dest.protocol === 'tls';
        // A TLS peer must prove it is the host the URI names (or, named by address, that address).
        const socket = secure
          ? tls.connect({
              host: dest.address,
              port: dest.port,
              servername: dest.serverName,
              secureContext: this.#clientTls,
              checkServerIdentity: (_host, cert) => tls.checkServerIdentity(dest.serverName ?? dest.address, cert),
            })
          : net.connect({ host: dest.address, port: dest.port });
        const failed = (error: Error) => {
          // An untrusted or misnamed certificate is a configuration problem the operator must see.
          if (secure) this.#logger.warn({ err: error, peer: `${dest.serverName ?? dest.address}:${dest.port}` }, 'sip tls connection failed');
          reject(error);
        };
        socket.once('error', failed);
        socket.once(secure ? 'secureConnect' : 'connect', () => {
          socket.off('error', failed);
          this.#adopt(socket, secure ? 'tls' : 'tcp');
          resolve(socket);
        });
      }).finally(() => this.#connecting.delete(key));
      this.#connecting.set(key, pending);
    }
    return pending;
  }

  /**
   * Counts a new connection against its source's cap, before any TLS handshake (a flood of
   * handshakes is held to the cap too); false, and closed, when over it.
   */
  #admit(socket: net.Socket, protocol: 'tcp' | 'tls'): boolean {
    const address = plainAddress(socket.remoteAddress);
    const open = this.#perSource.get(address) ?? 0;
    if (open >= this.#limits.perSource) {
      socket.destroy();
      this.#handlers.tcpClosed?.('overLimit', { protocol, address, port: socket.remotePort ?? 0 });
      return false;
    }
    this.#perSource.set(address, open + 1);
    socket.on('close', () => {
      const left = (this.#perSource.get(address) ?? 1) - 1;
      if (left > 0) this.#perSource.set(address, left);
      else this.#perSource.delete(address);
    });
    return true;
  }

  #adopt(socket: net.Socket, protocol: 'tcp' | 'tls'): void {
    const source: Peer = { protocol, address: plainAddress(socket.remoteAddress), port: socket.remotePort ?? 0 };
    const key = peerKey(source.address, source.port);
    this.#connections.set(key, socket);
    const framer = new StreamFramer();
    socket.setNoDelay(true);
    const idle = setTimeout(() => {
      this.#handlers.tcpClosed?.('idle', source);
      socket.destroy();
    }, this.#limits.idleMs);
    socket.on('data', (chunk) => {
      for (const item of framer.push(chunk)) {
        idle.refresh();
        if (item.kind === 'message') this.#deliver(item.data, source);
        else if (item.kind === 'ping') socket.write('\r\n');
        else {
          try {
            this.#handlers.brokenStream(item.reason, item.data, source);
          } catch (error) {
            this.#logger.error({ err: error }, 'sip broken-stream handler failed');
          }
          // Our 400 goes out; the rest of what the peer sends is not read (it stays in the kernel,
          // which stops the sender), and the connection goes once the answer had time to arrive.
          socket.end();
          socket.pause();
          setTimeout(() => socket.destroy(), BROKEN_STREAM_LINGER_MS).unref();
        }
      }
    });
    socket.on('error', (error) => this.#logger.debug({ err: error, peer: key }, 'sip tcp connection error'));
    socket.on('close', () => {
      clearTimeout(idle);
      if (this.#connections.get(key) === socket) this.#connections.delete(key);
    });
  }
}
