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
  /** The address put in Via and Contact, and the SIP port. */
  readonly address: string;
  readonly port: number;
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
    screen?: RequestScreen;
  }) {
    this.logger = init.logger;
    this.transport = init.transport;
    this.apps = init.apps;
    this.dialogs = init.dialogs;
    this.address = init.address;
    this.port = init.port;
    this.screen = init.screen;
  }

  get hostport(): string {
    return `${this.address}:${this.port}`;
  }

  /** Our own endpoint on `protocol`, as drachtio reports the sending side of messages it sent. */
  local(protocol: Protocol): Peer {
    return { protocol, address: this.address, port: this.port };
  }

  via(protocol: Protocol): string {
    return `SIP/2.0/${protocol.toUpperCase()} ${this.hostport};branch=${newBranch()};rport`;
  }

  contact(protocol: Protocol): string {
    return `<sip:${this.hostport}${protocol === 'tcp' ? ';transport=tcp' : ''}>`;
  }

  isSelf(peer: Peer): boolean {
    return peer.port === this.port && (peer.address === this.address || peer.address.startsWith('127.'));
  }

  /** Fire-and-forget send for retransmissions and stateless replies; failures only get logged. */
  sendQuietly(dest: Peer, data: Buffer): void {
    this.transport.send(dest, data).catch((error: unknown) => this.logger.debug({ err: error, dest }, 'sip send failed'));
  }
}
