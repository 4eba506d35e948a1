import { randomUUID } from 'node:crypto';
import type { AppConnection } from './AppServer.ts';
import { type AppMessage, appHeader, contentTypeFor, copyAppHeaders, localize, statusLine, uriOf } from './appMessage.ts';
import { Dialog } from './Dialog.ts';
import type { EngineContext } from './EngineContext.ts';
import { responseTo, stampVia, statelessResponse } from './messages.ts';
import type { OutgoingRequests } from './OutgoingRequests.ts';
import { serverKey, ServerTransaction } from './ServerTransaction.ts';
import type { SipMessage } from './SipMessage.ts';
import type { Peer } from './SipTransport.ts';
import { newCSeq, newTag, parseCSeq, parseUri, tagOf } from './sipSyntax.ts';
import { T1, T2, TIMER_64T1 } from './timers.ts';
import { CRLF, messageMeta } from './wireProtocol.ts';

/** Methods drachtio-server hands to an app as new requests (others outside a dialog are dropped). */
const NEW_REQUEST_METHODS = new Set(['INVITE', 'REGISTER', 'MESSAGE', 'OPTIONS', 'INFO', 'NOTIFY', 'SUBSCRIBE', 'PUBLISH']);
/** Headers of a response that the engine fills from the request, whatever the app wrote. */
const ENGINE_RESPONSE_HEADERS = new Set(['from', 'to', 'call-id', 'cseq']);

function originKey(request: SipMessage): string {
  return `${request.get('call-id')}|${tagOf(request.get('from'))}|${request.get('cseq')}`;
}

/** The caller's leg of a call: what an INVITE without a To tag shares with its predecessors. */
function legKey(request: SipMessage): string {
  return `${request.get('call-id')}|${tagOf(request.get('from'))}`;
}

/** A request from the network that the app is to answer. */
interface PendingRequest {
  txn: ServerTransaction;
  owner: AppConnection;
  /** The dialog it arrived in, or (new INVITE) the dialog its 2xx created. */
  dialog?: Dialog;
  /** New INVITE: our To tag, chosen at the app's first response. */
  localTag?: string;
  canceled: boolean;
}

/** The UAS half: requests from the network to the app, and the app's responses to them. */
export class IncomingRequests {
  #ctx: EngineContext;
  #outgoing: OutgoingRequests;
  #pending = new Map<string, PendingRequest>();
  /** New requests by From tag, Call-ID and CSeq, to spot the same request arriving on another path. */
  #byOrigin = new Map<string, ServerTransaction>();
  /** The latest INVITE without a To tag per Call-ID and From tag, to hold back the next one until it is ACKed. */
  #initialInvites = new Map<string, ServerTransaction>();

  constructor(ctx: EngineContext, outgoing: OutgoingRequests) {
    this.#ctx = ctx;
    this.#outgoing = outgoing;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  receive(request: SipMessage, source: Peer): void {
    stampVia(request, source);
    const method = request.method ?? '';
    if (method === 'ACK') return this.#ack(request, source);
    const existing = this.#ctx.serverTransactions.get(serverKey(request));
    if (existing) {
      // A retransmission never reaches the app again; the peer gets the last response instead.
      existing.retransmission();
      return;
    }
    if (method === 'CANCEL') return this.#cancel(request, source);
    const toTag = tagOf(request.get('to'));
    // Flood control screens only new requests: the calls a source already has go on.
    if (!toTag && !this.#screened(request, source)) return;
    if (toTag) {
      const dialog = this.#ctx.dialogs.forRequest(request.get('call-id') ?? '', toTag, tagOf(request.get('from')) ?? '');
      if (dialog) return this.#inDialog(request, source, dialog);
      // sofia passes unmatched tagged requests up statelessly: drachtio rejects these, routes the rest as new
      if (method === 'INVITE') return this.#reject(request, source, 481);
    }
    if (method === 'BYE' || method === 'UPDATE') return this.#reject(request, source, 481);
    // Merged request (8.2.2.2): same origin, different branch, e.g. a fork arriving twice.
    if (this.#byOrigin.has(originKey(request))) return this.#reject(request, source, 482);
    // drachtio-server keeps the leg of an INVITE whose non-2xx is not yet ACKed, and answers a new
    // INVITE on it (e.g. the caller's retry with credentials after a 401 ACKed on a new branch) 491.
    if (method === 'INVITE' && this.#initialInvites.get(legKey(request))?.state === 'completed') {
      return void this.#transaction(request, source).respond(responseTo(request, 491, undefined, newTag()));
    }
    if (!NEW_REQUEST_METHODS.has(method)) {
      this.#ctx.logger.debug({ method, callId: request.get('call-id') }, 'discarding request drachtio-server would not route');
      return;
    }
    this.#newRequest(request, source);
  }

  /** The app's response to a request: `sip|<txnId>|` + a partial response. */
  respond(app: AppConnection, msgId: string, txnId: string, message: AppMessage): void {
    const pending = this.#pending.get(txnId);
    const line = statusLine(message.startLine);
    if (!line) return app.reply(msgId, 'NOK', 'invalid status line');
    if (!pending || pending.canceled || pending.txn.state === 'terminated') {
      const isCancel = /\bCANCEL\s*$/i.test(appHeader(message, 'cseq') ?? '');
      return app.reply(msgId, 'NOK', isCancel ? '200 OK to incoming CANCEL is automatically generated by the stack' : 'Response not sent due to unknown transaction');
    }
    const { txn } = pending;
    if (txn.finalSent) return app.reply(msgId, 'NOK', 'a final response has already been sent');
    const { contentType } = contentTypeFor(message);

    const request = txn.request;
    const isNewInvite = txn.isInvite && !pending.dialog;
    if (!pending.dialog && !pending.localTag) pending.localTag = tagOf(appHeader(message, 'to')) ?? newTag();
    const response = responseTo(request, line.status, line.reason || undefined, pending.localTag);
    if (isNewInvite && line.status > 100 && line.status < 300) {
      for (const route of request.values('record-route')) response.append('Record-Route', route);
    }
    copyAppHeaders(message, response, ENGINE_RESPONSE_HEADERS, this.#ctx.hostport(txn.source.protocol));
    const wantsContact = request.method === 'INVITE' || request.method === 'SUBSCRIBE';
    const contactDue = isNewInvite ? line.status >= 200 && line.status < 300 : true;
    if (wantsContact && contactDue && !response.has('contact')) response.append('Contact', this.#ctx.contact(txn.source.protocol));
    if (contentType) response.set('Content-Type', contentType);
    response.body = message.body;

    const bytes = txn.respond(response);
    const dialogId = this.#afterResponse(pending, response, bytes);
    app.reply(msgId, 'OK', `${messageMeta('application', bytes.length, txn.source)}|${txnId}|${dialogId}||Msg sent:|${CRLF}${bytes.toString('utf8')}`);
  }

  /** Requests whose app went away are answered, not left to time out. */
  appDisconnected(app: AppConnection): void {
    for (const pending of this.#pending.values()) {
      if (pending.owner !== app || pending.txn.finalSent || pending.canceled) continue;
      pending.txn.respond(responseTo(pending.txn.request, 503, undefined, pending.localTag ?? newTag()));
    }
  }

  #newRequest(request: SipMessage, source: Peer): void {
    const owner = this.#ctx.apps.select(request.method ?? '');
    if (!owner) return this.#reject(request, source, 503);
    const txn = this.#transaction(request, source);
    this.#byOrigin.set(originKey(request), txn);
    if (txn.isInvite) {
      this.#initialInvites.set(legKey(request), txn);
      txn.respond(responseTo(request, 100));
    }
    this.#pending.set(txn.id, { txn, owner, canceled: false });
    const raw = request.toBuffer();
    const local = this.#ctx.local(source.protocol);
    owner.send(`sip|${messageMeta('network', raw.length, source)}|${txn.id}||${local.address}|${local.port}|${CRLF}${raw.toString('utf8')}`);
  }

  #inDialog(request: SipMessage, source: Peer, dialog: Dialog): void {
    const method = request.method ?? '';
    const cseq = parseCSeq(request.get('cseq') ?? '')?.seq ?? 0;
    if (dialog.remoteSeq !== undefined && cseq < dialog.remoteSeq) return this.#reject(request, source, 500, 'Request Out Of Order');
    const txn = this.#transaction(request, source);
    if (method === 'INVITE') {
      if (dialog.incomingInviteTxn && this.#pending.get(dialog.incomingInviteTxn)?.txn.finalSent === false) {
        return void txn.respond(responseTo(request, 500, undefined).append('Retry-After', '1'));
      }
      if (dialog.outgoingInviteTxn) return void txn.respond(responseTo(request, 491));
      txn.respond(responseTo(request, 100));
      dialog.incomingInviteTxn = txn.id;
    }
    dialog.remoteSeq = cseq;
    if (method === 'BYE') this.#ctx.dialogs.remove(dialog);
    if (!dialog.owner.open) return void txn.respond(responseTo(request, method === 'BYE' ? 481 : 503));
    this.#pending.set(txn.id, { txn, owner: dialog.owner, dialog, canceled: false });
    const raw = request.toBuffer();
    dialog.owner.send(`sip|${messageMeta('network', raw.length, source)}|${txn.id}|${dialog.id}|${CRLF}${raw.toString('utf8')}`);
  }

  /** ACK: absorbed by the INVITE transaction for a non-2xx, else it ends a dialog's 2xx retransmissions. */
  #ack(request: SipMessage, source: Peer): void {
    if (this.#ctx.serverTransactions.get(serverKey(request))?.ack()) return;
    const dialog = this.#ctx.dialogs.forRequest(request.get('call-id') ?? '', tagOf(request.get('to')) ?? '', tagOf(request.get('from')) ?? '');
    const cseq = parseCSeq(request.get('cseq') ?? '')?.seq;
    const unacked = dialog?.unackedSuccess;
    if (!dialog || !unacked || unacked.cseq !== cseq) {
      this.#ctx.logger.debug({ callId: request.get('call-id') }, 'discarding stray ACK');
      return;
    }
    dialog.unackedSuccess = undefined;
    dialog.timers.clear('2xx');
    dialog.timers.clear('ackTimeout');
    const raw = request.toBuffer();
    dialog.owner.send(`sip|${messageMeta('network', raw.length, source)}|${unacked.transactionId}|${dialog.id}|${CRLF}${raw.toString('utf8')}`);
  }

  /** CANCEL: the engine answers it and the INVITE (487) itself, then tells the app (drachtio-server's way). */
  #cancel(request: SipMessage, source: Peer): void {
    const invite = this.#ctx.serverTransactions.get(serverKey(request, 'INVITE'));
    const pending = invite && this.#pending.get(invite.id);
    if (!invite || !pending) return this.#reject(request, source, 481);
    if (invite.finalSent) {
      const status = invite.lastResponse?.status ?? 0;
      if (status >= 200 && status < 300 && pending.dialog) {
        // CANCEL raced our 2xx: drachtio answers 481 and hangs up the new dialog.
        this.#ctx.sendQuietly(source, statelessResponse(request, 481));
        void this.#outgoing.byeFromEngine(pending.dialog, 'CANCEL after 200 OK');
        return;
      }
      this.#ctx.sendQuietly(source, statelessResponse(request, 200));
      return;
    }
    this.#ctx.sendQuietly(source, statelessResponse(request, 200));
    invite.respond(responseTo(invite.request, 487, undefined, pending.localTag ?? newTag()));
    pending.canceled = true;
    const dialogId = pending.localTag ? this.#dialogIdFor(invite.request) : '';
    const raw = request.toBuffer();
    pending.owner.send(`sip|${messageMeta('network', raw.length, source)}|${invite.id}|${dialogId}|${CRLF}${raw.toString('utf8')}`);
  }

  /** Dialog bookkeeping after the app's response; returns the dialog id to report. */
  #afterResponse(pending: PendingRequest, response: SipMessage, bytes: Buffer): string {
    const { txn } = pending;
    const status = response.status ?? 0;
    if (!txn.isInvite) return pending.dialog?.id ?? '';
    if (!pending.dialog && status >= 200 && status < 300) pending.dialog = this.#createDialog(pending, response);
    const dialog = pending.dialog;
    if (!dialog) return this.#dialogIdFor(txn.request);
    if (status >= 200 && dialog.incomingInviteTxn === txn.id) dialog.incomingInviteTxn = undefined;
    if (status >= 200 && status < 300) {
      const contact = uriOf(txn.request.values('contact')[0]);
      if (contact) dialog.remoteTarget = contact;
      this.#awaitAck(dialog, txn, bytes);
    }
    return dialog.id;
  }

  #createDialog(pending: PendingRequest, response: SipMessage): Dialog {
    const { txn } = pending;
    const request = txn.request;
    const source = txn.source;
    const remoteTarget = uriOf(request.values('contact')[0]) ?? uriOf(request.get('from')) ?? '';
    const routeSet = request.values('record-route');
    const contactHost = parseUri(remoteTarget)?.host;
    const dialog = new Dialog({
      callId: request.get('call-id') ?? '',
      creatorFromTag: tagOf(request.get('from')) ?? '',
      localTag: pending.localTag ?? '',
      remoteTag: tagOf(request.get('from')) ?? '',
      localUri: response.get('to') ?? '',
      remoteUri: request.get('from') ?? '',
      localSeq: newCSeq(),
      remoteSeq: parseCSeq(request.get('cseq') ?? '')?.seq,
      remoteTarget,
      routeSet,
      localContact: localize('contact', response.get('contact') ?? this.#ctx.contact(source.protocol), this.#ctx.hostport(source.protocol)),
      protocol: source.protocol,
      peer: source,
      // drachtio's NAT detection: a Contact that is not where the INVITE came from is not reachable directly
      natPeer: routeSet.length === 0 && contactHost !== source.address ? source : undefined,
      owner: pending.owner,
    });
    this.#ctx.dialogs.add(dialog);
    return dialog;
  }

  /** 2xx retransmission until the ACK (UDP: T1 doubling to T2), and a BYE if none comes in 64*T1. */
  #awaitAck(dialog: Dialog, txn: ServerTransaction, bytes: Buffer): void {
    const cseq = parseCSeq(txn.request.get('cseq') ?? '')?.seq ?? 0;
    // drachtio reports the ACK of the initial INVITE under that INVITE's transaction id, others under a new one
    const isInitial = !tagOf(txn.request.get('to'));
    dialog.unackedSuccess = { cseq, transactionId: isInitial ? txn.id : randomUUID() };
    if (txn.source.protocol === 'udp') {
      const retransmit = (interval: number): void => {
        dialog.timers.set('2xx', interval, () => {
          this.#ctx.sendQuietly(txn.source, bytes);
          retransmit(Math.min(interval * 2, T2));
        });
      };
      retransmit(T1);
    }
    dialog.timers.set('ackTimeout', TIMER_64T1, () => {
      dialog.timers.clear('2xx');
      dialog.unackedSuccess = undefined;
      this.#ctx.logger.info({ dialogId: dialog.id }, 'no ACK for our 2xx; hanging up');
      void this.#outgoing.byeFromEngine(dialog, 'ACK timeout');
    });
  }

  #transaction(request: SipMessage, source: Peer): ServerTransaction {
    const txn = new ServerTransaction(request, source, (dest, data) => this.#ctx.sendQuietly(dest, data), (done) => {
      this.#ctx.serverTransactions.delete(done.key);
      this.#pending.delete(done.id);
      const origin = originKey(done.request);
      if (this.#byOrigin.get(origin) === done) this.#byOrigin.delete(origin);
      const leg = legKey(done.request);
      if (this.#initialInvites.get(leg) === done) this.#initialInvites.delete(leg);
    });
    this.#ctx.serverTransactions.set(txn.key, txn);
    return txn;
  }

  /** False when the edge dropped or refused the request (statelessly: a refusal costs no transaction). */
  #screened(request: SipMessage, source: Peer): boolean {
    const verdict = this.#ctx.screen?.(request, source) ?? { action: 'pass' };
    if (verdict.action === 'pass') return true;
    if (verdict.action === 'refuse') {
      const response = responseTo(request, verdict.status, verdict.reason, newTag());
      if (verdict.retryAfterSeconds !== undefined) response.append('Retry-After', String(verdict.retryAfterSeconds));
      this.#ctx.sendQuietly(source, response.toBuffer());
    }
    return false;
  }

  #reject(request: SipMessage, source: Peer, status: number, reason?: string): void {
    this.#ctx.sendQuietly(source, statelessResponse(request, status, reason));
  }

  #dialogIdFor(request: SipMessage): string {
    return `${request.get('call-id')};from-tag=${tagOf(request.get('from')) ?? ''}`;
  }
}
