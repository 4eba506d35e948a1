import { randomUUID } from 'node:crypto';
import type { SipMessage } from './SipMessage.ts';
import type { Peer } from './SipTransport.ts';
import { BRANCH_COOKIE, parseCSeq, parseVia, tagOf } from './sipSyntax.ts';
import { APP_RESPONSE_TIMEOUT, T1, T2, T4, TIMER_64T1, TIMER_C, TimerSet } from './timers.ts';

export type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/**
 * Transaction key (17.2.3): branch + sent-by + method for RFC 3261 peers, the request's
 * identity otherwise. ACK shares its INVITE's key; CANCEL can look its INVITE up with `method`.
 */
export function serverKey(request: SipMessage, method = request.method === 'ACK' ? 'INVITE' : request.method): string {
  const top = request.values('via')[0] ?? '';
  const via = parseVia(top);
  const branch = via?.params.get('branch') ?? '';
  if (via && branch.startsWith(BRANCH_COOKIE)) return `${branch}|${via.host}:${via.port ?? ''}|${method}`;
  const cseq = parseCSeq(request.get('cseq') ?? '');
  return `${request.uri}|${tagOf(request.get('from'))}|${request.get('call-id')}|${cseq?.seq}|${top}|${method}`;
}

/** Server INVITE (with RFC 6026's Accepted state) and non-INVITE transactions (17.2). */
export class ServerTransaction {
  readonly id = randomUUID();
  readonly key: string;
  readonly request: SipMessage;
  readonly source: Peer;
  readonly isInvite: boolean;
  state: ServerState = 'trying';
  lastResponse?: SipMessage;
  #lastBytes?: Buffer;
  #timers = new TimerSet();
  #send: (dest: Peer, data: Buffer) => void;
  #onTerminated: (txn: ServerTransaction) => void;

  constructor(request: SipMessage, source: Peer, send: (dest: Peer, data: Buffer) => void, onTerminated: (txn: ServerTransaction) => void) {
    this.key = serverKey(request);
    this.request = request;
    this.source = source;
    this.isInvite = request.method === 'INVITE';
    this.#send = send;
    this.#onTerminated = onTerminated;
    // Bounded: a request nobody answers is forgotten, as drachtio-server does after 64 s.
    this.#timers.set('lifetime', APP_RESPONSE_TIMEOUT, () => this.terminate());
  }

  get finalSent(): boolean {
    return this.state !== 'trying' && this.state !== 'proceeding';
  }

  /** Sends a response; returns the bytes sent. Responses are sent to the request's source (forced rport). */
  respond(response: SipMessage): Buffer {
    const bytes = response.toBuffer();
    const status = response.status ?? 0;
    this.lastResponse = response;
    this.#lastBytes = bytes;
    this.#send(this.source, bytes);
    const reliable = this.source.protocol !== 'udp';
    if (status < 200) {
      this.state = 'proceeding';
      if (this.isInvite && status > 100) this.#timers.set('lifetime', TIMER_C, () => this.terminate());
      return bytes;
    }
    this.#timers.clear('lifetime');
    if (this.isInvite && status < 300) {
      // 2xx retransmission is the dialog layer's job (13.3.1.4); here INVITE retransmissions are absorbed.
      this.state = 'accepted';
      this.#timers.set('L', TIMER_64T1, () => this.terminate());
    } else if (this.isInvite) {
      this.state = 'completed';
      if (!reliable) this.#retransmitFinal(T1);
      this.#timers.set('H', TIMER_64T1, () => this.terminate());
    } else {
      this.state = 'completed';
      this.#timers.set('J', reliable ? 0 : TIMER_64T1, () => this.terminate());
    }
    return bytes;
  }

  /** A retransmitted request: repeat the last response, if any. */
  retransmission(): void {
    if (this.#lastBytes && this.state !== 'confirmed') this.#send(this.source, this.#lastBytes);
  }

  /** ACK for a non-2xx final response; true if this transaction absorbed it. */
  ack(): boolean {
    if (this.state === 'confirmed') return true;
    if (this.state !== 'completed' || !this.isInvite) return false;
    this.state = 'confirmed';
    this.#timers.clear('G');
    this.#timers.clear('H');
    this.#timers.set('I', this.source.protocol === 'udp' ? T4 : 0, () => this.terminate());
    return true;
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.#timers.clearAll();
    this.#onTerminated(this);
  }

  #retransmitFinal(interval: number): void {
    this.#timers.set('G', interval, () => {
      if (this.state !== 'completed' || !this.#lastBytes) return;
      this.#send(this.source, this.#lastBytes);
      this.#retransmitFinal(Math.min(interval * 2, T2));
    });
  }
}
