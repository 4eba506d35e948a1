import type { Logger } from '../../common/logger.ts';
import type { AppServer } from './AppServer.ts';
import type { ClientTransaction } from './ClientTransaction.ts';
import type { DialogTable } from './Dialog.ts';
import type { ServerTransaction } from './ServerTransaction.ts';
import type { SipMessage } from './SipMessage.ts';
import type { Peer, Protocol, SipTransport } from './SipTransport.ts';
import { newBranch } from './sipSyntax.ts';

/**
 * What the edge makes of a new request (no To tag) before any transaction or
 * app sees it: pass it on, drop it unanswered, or refuse it statelessly.
 */
export type Screening =
  | { action: 'pass' }
  | { action: 'drop' }
  | { action: 'refuse'; status: number; reason: string; retryAfterSeconds?: number };

export type RequestScreen = (request: SipMessage, source: Peer) => Screening;

/** What the UAS and UAC halves of the engine share. */
export class EngineContext {
  readonly logger: Logger;
  readonly transport: SipTransport;
  readonly apps: AppServer;
  readonly dialogs: DialogTable;
  /** The address put in Via and Contact, the SIP port (UDP and TCP) and the TLS one. */
  readonly address: string;
  readonly port: number;
  readonly tlsPort: number | undefined;
  readonly screen: RequestScreen | undefined;
  readonly serverTransactions = new Map<string, ServerTransaction>();
  readonly clientTransactions = new Map<string, ClientTransaction>();
  malformed = 0;

  constructor(init: {
    logger: Logger;
    transport: SipTransport;
    apps: AppServer;
    dialogs: DialogTable;
    address: string;
    port: number;
    tlsPort?: number;
    screen?: RequestScreen;
  }) {
    this.logger = init.logger;
    this.transport = init.transport;
    this.apps = init.apps;
    this.dialogs = init.dialogs;
    this.address = init.address;
    this.port = init.port;
    this.tlsPort = init.tlsPort;
    this.screen = init.screen;
  }

  /** Where we are reached on `protocol`: TLS has a port of its own. */
  hostport(protocol: Protocol): string {
    return `${this.address}:${this.#portFor(protocol)}`;
  }

  /** Our own endpoint on `protocol`, as drachtio reports the sending side of messages it sent. */
  local(protocol: Protocol): Peer {
    return { protocol, address: this.address, port: this.#portFor(protocol) };
  }

  via(protocol: Protocol): string {
    return `SIP/2.0/${protocol.toUpperCase()} ${this.hostport(protocol)};branch=${newBranch()};rport`;
  }

  contact(protocol: Protocol): string {
    return `<sip:${this.hostport(protocol)}${protocol === 'udp' ? '' : `;transport=${protocol}`}>`;
  }

  isSelf(peer: Peer): boolean {
    return (peer.port === this.port || peer.port === this.tlsPort) && (peer.address === this.address || peer.address.startsWith('127.'));
  }

  #portFor(protocol: Protocol): number {
    // Without a TLS listener, a TLS dialog we started still names a port: ours for SIP (the peer reuses the connection).
    return protocol === 'tls' ? (this.tlsPort ?? this.port) : this.port;
  }

  /** Fire-and-forget send for retransmissions and stateless replies; failures only get logged. */
  sendQuietly(dest: Peer, data: Buffer): void {
    this.transport.send(dest, data).catch((error: unknown) => this.logger.debug({ err: error, dest }, 'sip send failed'));
  }
}
