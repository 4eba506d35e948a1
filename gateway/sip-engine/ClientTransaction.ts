import { randomUUID } from 'node:crypto';
import { responseTo } from './messages.ts';
import { SipMessage } from './SipMessage.ts';
import type { Peer } from './SipTransport.ts';
import { parseCSeq, parseVia } from './sipSyntax.ts';
import { T1, T2, T4, TIMER_64T1, TIMER_C, TIMER_D, TimerSet } from './timers.ts';

export type ClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

export interface ClientTransactionHandlers {
  /** Every response the TU should see once: provisionals, the first final, and locally made 408/503s. */
  response(response: SipMessage, source: Peer, txn: ClientTransaction): void;
  /** A retransmitted 2xx to an INVITE (the ACK is the dialog layer's to repeat). */
  retransmitted2xx?(response: SipMessage, txn: ClientTransaction): void;
  terminated(txn: ClientTransaction): void;
}

export function clientKey(branch: string, method: string): string {
  return `${branch}|${method}`;
}

/** Client INVITE (with RFC 6026's Accepted state) and non-INVITE transactions (17.1). */
export class ClientTransaction {
  readonly id: string;
  readonly key: string;
  readonly request: SipMessage;
  readonly dest: Peer;
  readonly isInvite: boolean;
  readonly bytes: Buffer;
  state: ClientState = 'calling';
  provisionalReceived = false;
  #timers = new TimerSet();
  #send: (dest: Peer, data: Buffer) => Promise<void>;
  #handlers: ClientTransactionHandlers;
  #ack?: Buffer;

  constructor(request: SipMessage, dest: Peer, send: (dest: Peer, data: Buffer) => Promise<void>, handlers: ClientTransactionHandlers, id = randomUUID()) {
    const branch = parseVia(request.values('via')[0] ?? '')?.params.get('branch') ?? '';
    this.id = id;
    this.key = clientKey(branch, request.method ?? '');
    this.request = request;
    this.dest = dest;
    this.isInvite = request.method === 'INVITE';
    this.bytes = request.toBuffer();
    this.#send = send;
    this.#handlers = handlers;
  }

  start(): void {
    this.#transmit();
    if (this.dest.protocol === 'udp') this.#retransmit(T1);
    this.#timers.set('timeout', TIMER_64T1, () => this.#fail(408));
  }

  receive(response: SipMessage, source: Peer): void {
    const status = response.status ?? 0;
    if (this.state === 'terminated') return;
    if (status < 200) {
      if (this.state !== 'calling' && this.state !== 'proceeding') return;
      this.state = 'proceeding';
      this.provisionalReceived = true;
      if (this.isInvite) {
        this.#timers.clear('retransmit');
        this.#timers.set('timeout', TIMER_C, () => this.#fail(408));
      }
      this.#handlers.response(response, source, this);
      return;
    }
    if (this.state === 'completed') {
      if (this.#ack) this.#sendQuietly(this.#ack);
      return;
    }
    if (this.state === 'accepted') {
      if (status < 300) this.#handlers.retransmitted2xx?.(response, this);
      return;
    }
    this.#timers.clear('retransmit');
    this.#timers.clear('timeout');
    const reliable = this.dest.protocol !== 'udp';
    if (this.isInvite && status < 300) {
      this.state = 'accepted';
      this.#timers.set('M', TIMER_64T1, () => this.terminate());
    } else if (this.isInvite) {
      this.state = 'completed';
      this.#ack = this.#ackFor(response).toBuffer();
      this.#sendQuietly(this.#ack);
      this.#timers.set('D', reliable ? 0 : TIMER_D, () => this.terminate());
    } else {
      this.state = 'completed';
      this.#timers.set('K', reliable ? 0 : T4, () => this.terminate());
    }
    this.#handlers.response(response, source, this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.#timers.clearAll();
    this.#handlers.terminated(this);
  }

  /** ACK for a non-2xx final response: same branch, Request-URI, Route set; To from the response (17.1.1.3). */
  #ackFor(response: SipMessage): SipMessage {
    const ack = SipMessage.request('ACK', this.request.uri ?? '');
    ack.append('Via', this.request.values('via')[0] ?? '');
    for (const route of this.request.values('route')) ack.append('Route', route);
    ack.append('Max-Forwards', '70');
    ack.append('From', this.request.get('from') ?? '');
    ack.append('To', response.get('to') ?? '');
    ack.append('Call-ID', this.request.get('call-id') ?? '');
    ack.append('CSeq', `${parseCSeq(this.request.get('cseq') ?? '')?.seq ?? 0} ACK`);
    return ack;
  }

  #transmit(): void {
    this.#send(this.dest, this.bytes).catch(() => this.#fail(503));
  }

  #sendQuietly(data: Buffer): void {
    this.#send(this.dest, data).catch(() => undefined);
  }

  #retransmit(interval: number): void {
    this.#timers.set('retransmit', interval, () => {
      if (this.state !== 'calling' && !(this.state === 'proceeding' && !this.isInvite)) return;
      this.#transmit();
      // Timer A doubles without bound, timer E is capped at T2 (and stays at T2 once proceeding).
      this.#retransmit(this.isInvite ? interval * 2 : this.state === 'proceeding' ? T2 : Math.min(interval * 2, T2));
    });
  }

  /** Timeout or transport error: the TU gets a locally generated response, as sofia gives drachtio. */
  #fail(status: 408 | 503): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'accepted') return;
    this.#timers.clearAll();
    const response = responseTo(this.request, status);
    this.state = 'terminated';
    this.#handlers.response(response, this.dest, this);
    this.#handlers.terminated(this);
  }
}
