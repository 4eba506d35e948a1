import { randomUUID } from 'node:crypto';
import type { AppConnection } from './AppServer.ts';
import { type AppMessage, appHeader, contentTypeFor, copyAppHeaders, KNOWN_METHODS, localize, requestLine, uriOf } from './appMessage.ts';
import { ClientTransaction, clientKey } from './ClientTransaction.ts';
import { Dialog } from './Dialog.ts';
import type { EngineContext } from './EngineContext.ts';
import { SipMessage } from './SipMessage.ts';
import type { Peer } from './SipTransport.ts';
import { newCallId, newCSeq, newTag, parseCSeq, parseUri, parseVia, tagOf, withTag } from './sipSyntax.ts';
import { resolveTarget } from './targets.ts';
import { CRLF, messageMeta } from './wireProtocol.ts';

/** Headers of an app request that the engine builds itself. */
const ENGINE_REQUEST_HEADERS = new Set(['from', 'to', 'call-id', 'cseq', 'max-forwards', 'contact', 'content-type']);
/** On a CANCEL the app may add headers but not change identity (drachtio's makeSafeTags). */
const CANCEL_FIXED_HEADERS = new Set([...ENGINE_REQUEST_HEADERS, 'p-asserted-identity']);

/** A request the app sent, until its final response. */
interface OutgoingRequest {
  txn: ClientTransaction;
  owner: AppConnection;
  /** drachtio dialog id reported with responses: INVITEs and in-dialog requests. */
  dialogId: string;
  /** The dialog it was sent in, or (initial INVITE) the one its 2xx created. */
  dialog?: Dialog;
  canceled: boolean;
  /** A CANCEL waiting for the first provisional response (9.1). */
  pendingCancel?: ClientTransaction;
}

/** The UAC half: requests from the app (and the engine's own BYEs) and their responses. */
export class OutgoingRequests {
  #ctx: EngineContext;
  #requests = new Map<string, OutgoingRequest>();

  constructor(ctx: EngineContext) {
    this.#ctx = ctx;
  }

  get pendingCount(): number {
    return this.#requests.size;
  }

  /** `sip||[<dialogId>][|<proxy>]` or `sip|<txnId>|` + CANCEL from the app. */
  async send(app: AppConnection, msgId: string, txnId: string, dialogId: string, proxy: string, message: AppMessage): Promise<void> {
    const line = requestLine(message.startLine);
    if (!line || !KNOWN_METHODS.has(line.method)) return app.reply(msgId, 'NOK', `invalid request-uri: ${message.startLine}`);
    try {
      if (dialogId) return await this.#inDialog(app, msgId, dialogId, line.method, line.uri, message);
      if (txnId) {
        if (line.method === 'CANCEL') return this.#cancel(app, msgId, txnId, message);
        return app.reply(msgId, 'NOK', 'only CANCEL can be sent within a transaction');
      }
      const callId = appHeader(message, 'call-id');
      const dialog = callId ? this.#ctx.dialogs.byCallId(callId) : undefined;
      if (dialog) return await this.#inDialog(app, msgId, dialog.id, line.method, line.uri, message);
      await this.#outOfDialog(app, msgId, line.method, line.uri, proxy, message);
    } catch (error) {
      app.reply(msgId, 'NOK', error instanceof Error ? error.message : String(error));
    }
  }

  /** A response from the network; anything not matching a transaction is dropped, except 2xx retransmissions. */
  receiveResponse(response: SipMessage, source: Peer): void {
    const branch = parseVia(response.values('via')[0] ?? '')?.params.get('branch') ?? '';
    const cseq = parseCSeq(response.get('cseq') ?? '');
    const txn = this.#ctx.clientTransactions.get(clientKey(branch, cseq?.method ?? ''));
    if (txn) return txn.receive(response, source);
    if (cseq?.method === 'INVITE' && (response.status ?? 0) < 300 && (response.status ?? 0) >= 200) this.#resendAck(response);
  }

  /** A BYE the engine sends on its own (ACK timeout, CANCEL/2xx race); the app hears of it as an unsolicited request. */
  async byeFromEngine(dialog: Dialog, text: string): Promise<void> {
    this.#ctx.dialogs.remove(dialog);
    const bye = this.#dialogRequest(dialog, 'BYE', dialog.remoteTarget, ++dialog.localSeq);
    bye.append('Reason', `SIP ;cause=200 ;text="${text}"`);
    try {
      const dest = await this.#destination(dialog);
      const txn = this.#transaction(bye, dest, undefined);
      txn.start();
      dialog.owner.send(`sip|${messageMeta('application', txn.bytes.length, this.#ctx.local(dest.protocol))}|unsolicited|${dialog.id}|${CRLF}${txn.bytes.toString('utf8')}`);
    } catch (error) {
      this.#ctx.logger.warn({ err: error, dialogId: dialog.id }, 'could not send BYE');
    }
  }

  appDisconnected(app: AppConnection): void {
    for (const request of this.#requests.values()) if (request.owner === app && request.txn.isInvite) this.#cancelNow(request);
  }

  async #outOfDialog(app: AppConnection, msgId: string, method: string, uri: string, proxy: string, message: AppMessage): Promise<void> {
    if (!parseUri(uri)) return app.reply(msgId, 'NOK', `invalid request-uri: ${uri}`);
    const { contentType, error } = contentTypeFor(message);
    if (error) return app.reply(msgId, 'NOK', error);
    const dest = await resolveTarget(proxy || uri);
    if (this.#ctx.isSelf(dest)) return app.reply(msgId, 'NOK', 'can not send request to myself');

    const hostport = this.#ctx.hostport(dest.protocol);
    const given = (name: string): string | undefined => {
      const value = appHeader(message, name);
      return value === undefined ? undefined : localize(name, value, hostport);
    };
    const givenCSeq = parseCSeq(given('cseq') ?? '');
    const request = SipMessage.request(method, uri);
    request.append('Via', this.#ctx.via(dest.protocol));
    request.append('Max-Forwards', given('max-forwards') ?? '70');
    request.append('From', withTag(given('from') ?? this.#ctx.contact(dest.protocol), newTag()));
    request.append('To', given('to') ?? `<${uri}>`);
    request.append('Call-ID', given('call-id') ?? newCallId());
    request.append('CSeq', `${givenCSeq?.seq ?? newCSeq()} ${method}`);
    const contact = given('contact');
    if (contact) request.append('Contact', contact);
    else if (method === 'INVITE' || method === 'SUBSCRIBE') request.append('Contact', this.#ctx.contact(dest.protocol));
    copyAppHeaders(message, request, ENGINE_REQUEST_HEADERS, hostport);
    if (contentType) request.append('Content-Type', contentType);
    request.body = message.body;

    const dialogId = method === 'INVITE' ? `${request.get('call-id')};from-tag=${tagOf(request.get('from'))}` : '';
    const txn = this.#transaction(request, dest, { owner: app, dialogId });
    app.reply(msgId, 'OK', `${messageMeta('application', txn.bytes.length, this.#ctx.local(dest.protocol))}|${txn.id}|Msg sent:|${CRLF}${txn.bytes.toString('utf8')}`);
    txn.start();
  }

  async #inDialog(app: AppConnection, msgId: string, dialogId: string, method: string, uri: string, message: AppMessage): Promise<void> {
    const dialog = this.#ctx.dialogs.byId(dialogId);
    if (!dialog) {
      return app.reply(msgId, 'NOK', method === 'ACK'
        ? 'Server error: ACK for non-success final response is automatically generated by server'
        : 'Server error: unable to find dialog for dialog id provided');
    }
    const { contentType, error } = contentTypeFor(message);
    if (error) return app.reply(msgId, 'NOK', `Server error: ${error}`);
    if (method === 'ACK') return this.#ack(app, msgId, dialog, message, contentType);
    if (method === 'CANCEL') return app.reply(msgId, 'NOK', 'Server error: CANCEL is sent with the transaction id of the INVITE');

    const target = uri.includes('placeholder') ? dialog.remoteTarget : uri;
    // An app's CSeq is honoured when it moves forward (digest retries bump it); otherwise the dialog counts.
    const givenSeq = parseCSeq(appHeader(message, 'cseq') ?? '')?.seq;
    dialog.localSeq = givenSeq !== undefined && givenSeq > dialog.localSeq ? givenSeq : dialog.localSeq + 1;
    const request = this.#dialogRequest(dialog, method, target, dialog.localSeq);
    const contact = appHeader(message, 'contact');
    const hostport = this.#ctx.hostport(dialog.protocol);
    if (contact) request.append('Contact', localize('contact', contact, hostport));
    else if (method === 'INVITE' || method === 'SUBSCRIBE' || method === 'REFER') request.append('Contact', dialog.localContact);
    copyAppHeaders(message, request, ENGINE_REQUEST_HEADERS, hostport);
    if (contentType) request.append('Content-Type', contentType);
    request.body = message.body;

    const dest = await this.#destination(dialog);
    if (method === 'BYE') {
      // Hanging up: stop repeating our 2xx.
      dialog.timers.clear('2xx');
      dialog.timers.clear('ackTimeout');
    }
    const txn = this.#transaction(request, dest, { owner: app, dialogId: dialog.id, dialog });
    if (method === 'INVITE') dialog.outgoingInviteTxn = txn.id;
    app.reply(msgId, 'OK', `${messageMeta('application', txn.bytes.length, this.#ctx.local(dest.protocol))}|${txn.id}|Msg sent:|${CRLF}${txn.bytes.toString('utf8')}`);
    txn.start();
  }

  /** The app's ACK for a 2xx (possibly carrying the SDP answer of a late offer). */
  async #ack(app: AppConnection, msgId: string, dialog: Dialog, message: AppMessage, contentType?: string): Promise<void> {
    const cseq = dialog.pendingAckCSeq;
    if (cseq === undefined) return app.reply(msgId, 'NOK', 'ACK for non-success responses is automatically generated by the stack');
    dialog.pendingAckCSeq = undefined;
    const ack = this.#dialogRequest(dialog, 'ACK', dialog.remoteTarget, cseq);
    copyAppHeaders(message, ack, ENGINE_REQUEST_HEADERS, this.#ctx.hostport(dialog.protocol));
    if (contentType) ack.append('Content-Type', contentType);
    ack.body = message.body;
    const dest = await this.#destination(dialog);
    const bytes = ack.toBuffer();
    this.#ctx.sendQuietly(dest, bytes);
    // Only the latest ACK can be asked for again by a retransmitted 2xx.
    dialog.sentAcks.clear();
    dialog.sentAcks.set(cseq, { bytes, dest });
    app.reply(msgId, 'OK', `${messageMeta('application', bytes.length, this.#ctx.local(dest.protocol))}|${randomUUID()}|Msg sent:|${CRLF}${bytes.toString('utf8')}`);
    if (dialog.ackBye) await this.byeFromEngine(dialog, 'ACK-BYE due to cancel race condition');
  }

  #cancel(app: AppConnection, msgId: string, txnId: string, message: AppMessage): void {
    const request = this.#requests.get(txnId);
    if (!request || !request.txn.isInvite || (request.txn.state !== 'calling' && request.txn.state !== 'proceeding')) {
      return app.reply(msgId, 'NOK', `unable to cancel unknown transaction id: ${txnId}`);
    }
    const cancel = this.#cancelFor(request.txn.request);
    copyAppHeaders(message, cancel, CANCEL_FIXED_HEADERS, this.#ctx.hostport(request.txn.dest.protocol));
    const txn = this.#transaction(cancel, request.txn.dest, undefined);
    request.canceled = true;
    app.reply(msgId, 'OK', `${messageMeta('application', txn.bytes.length, this.#ctx.local(txn.dest.protocol))}|${randomUUID()}|Msg sent:|${CRLF}${txn.bytes.toString('utf8')}`);
    if (request.txn.provisionalReceived) txn.start();
    else request.pendingCancel = txn;
  }

  /** Cancels an INVITE nobody will ACK any more (its app went away). */
  #cancelNow(request: OutgoingRequest): void {
    const { txn } = request;
    if (request.canceled || (txn.state !== 'calling' && txn.state !== 'proceeding')) return;
    request.canceled = true;
    const cancel = this.#transaction(this.#cancelFor(txn.request), txn.dest, undefined);
    if (txn.provisionalReceived) cancel.start();
    else request.pendingCancel = cancel;
  }

  /** CANCEL matching an INVITE: same Request-URI, top Via, Route, From, To, Call-ID, CSeq number (9.1). */
  #cancelFor(invite: SipMessage): SipMessage {
    const cancel = SipMessage.request('CANCEL', invite.uri ?? '');
    cancel.append('Via', invite.values('via')[0] ?? '');
    for (const route of invite.values('route')) cancel.append('Route', route);
    cancel.append('Max-Forwards', '70');
    for (const name of ['from', 'to', 'call-id']) cancel.append(name, invite.get(name) ?? '');
    cancel.append('CSeq', `${parseCSeq(invite.get('cseq') ?? '')?.seq ?? 0} CANCEL`);
    return cancel;
  }

  #onResponse(request: OutgoingRequest, response: SipMessage, source: Peer): void {
    const status = response.status ?? 0;
    const { txn } = request;
    const method = txn.request.method;
    if (status < 200 && request.pendingCancel) {
      request.pendingCancel.start();
      request.pendingCancel = undefined;
    }
    if (status >= 200) {
      this.#requests.delete(txn.id);
      request.pendingCancel?.terminate();
    }
    if (method === 'INVITE' && status >= 200) {
      if (!request.dialog && status < 300) request.dialog = this.#createDialog(request, response, source);
      const dialog = request.dialog;
      if (dialog) {
        if (dialog.outgoingInviteTxn === txn.id) dialog.outgoingInviteTxn = undefined;
        if (status < 300) {
          dialog.pendingAckCSeq = parseCSeq(response.get('cseq') ?? '')?.seq;
          const contact = uriOf(response.values('contact')[0]);
          if (contact) dialog.remoteTarget = contact;
        }
      }
    }
    if (method === 'BYE' && status >= 200 && status !== 401 && status !== 407 && request.dialog) this.#ctx.dialogs.remove(request.dialog);
    const raw = response.toBuffer();
    request.owner.send(`sip|${messageMeta('network', raw.length, source)}|${txn.id}|${request.dialogId}|${CRLF}${raw.toString('utf8')}`);
  }

  #createDialog(request: OutgoingRequest, response: SipMessage, source: Peer): Dialog {
    const invite = request.txn.request;
    const routeSet = response.values('record-route').reverse();
    const remoteTarget = uriOf(response.values('contact')[0]) ?? invite.uri ?? '';
    const contactHost = parseUri(remoteTarget)?.host;
    const dialog = new Dialog({
      callId: invite.get('call-id') ?? '',
      creatorFromTag: tagOf(invite.get('from')) ?? '',
      localTag: tagOf(invite.get('from')) ?? '',
      remoteTag: tagOf(response.get('to')) ?? '',
      localUri: invite.get('from') ?? '',
      remoteUri: response.get('to') ?? '',
      localSeq: parseCSeq(invite.get('cseq') ?? '')?.seq ?? 1,
      remoteTarget,
      routeSet,
      localContact: invite.get('contact') ?? this.#ctx.contact(request.txn.dest.protocol),
      protocol: request.txn.dest.protocol,
      peer: request.txn.dest,
      natPeer: routeSet.length === 0 && contactHost !== source.address ? source : undefined,
      owner: request.owner,
    });
    dialog.ackBye = request.canceled;
    this.#ctx.dialogs.add(dialog);
    return dialog;
  }

  /** A 2xx to an INVITE that was answered already: repeat our ACK (the app is not bothered again). */
  #resendAck(response: SipMessage): void {
    const dialog = this.#ctx.dialogs.forRequest(response.get('call-id') ?? '', tagOf(response.get('from')) ?? '', tagOf(response.get('to')) ?? '');
    const ack = dialog?.sentAcks.get(parseCSeq(response.get('cseq') ?? '')?.seq ?? -1);
    if (ack) this.#ctx.sendQuietly(ack.dest, ack.bytes);
  }

  /** A request within `dialog` (12.2.1.1): remote target, route set, tags, Call-ID, CSeq. */
  #dialogRequest(dialog: Dialog, method: string, target: string, cseq: number): SipMessage {
    const request = SipMessage.request(method, target);
    request.append('Via', this.#ctx.via(dialog.protocol));
    for (const route of dialog.routeSet) request.append('Route', route);
    request.append('Max-Forwards', '70');
    request.append('From', dialog.localUri);
    request.append('To', dialog.remoteUri);
    request.append('Call-ID', dialog.callId);
    request.append('CSeq', `${cseq} ${method}`);
    return request;
  }

  /** Next hop in a dialog: its TCP connection while open, the NAT source, else the first route or the remote target. */
  async #destination(dialog: Dialog): Promise<Peer> {
    if (dialog.protocol !== 'udp' && this.#ctx.transport.hasConnection(dialog.peer)) return dialog.peer;
    if (dialog.natPeer) return dialog.natPeer;
    const next = dialog.routeSet.length > 0 ? uriOf(dialog.routeSet[0]) ?? dialog.remoteTarget : dialog.remoteTarget;
    return resolveTarget(next, dialog.protocol);
  }

  #transaction(request: SipMessage, dest: Peer, tracked: { owner: AppConnection; dialogId: string; dialog?: Dialog } | undefined): ClientTransaction {
    const txn = new ClientTransaction(request, dest, (to, data) => this.#ctx.transport.send(to, data), {
      response: (response, source) => {
        const entry = this.#requests.get(txn.id);
        if (entry) this.#onResponse(entry, response, source);
      },
      retransmitted2xx: (response) => this.#resendAck(response),
      terminated: (done) => {
        this.#ctx.clientTransactions.delete(done.key);
        this.#requests.delete(done.id);
      },
    });
    this.#ctx.clientTransactions.set(txn.key, txn);
    if (tracked) this.#requests.set(txn.id, { txn, ...tracked, canceled: false });
    return txn;
  }
}
