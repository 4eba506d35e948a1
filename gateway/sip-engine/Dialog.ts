import type { AppConnection } from './AppServer.ts';
import type { Peer, Protocol } from './SipTransport.ts';
import { TimerSet } from './timers.ts';

export interface DialogInit {
  callId: string;
  /** From tag of the INVITE that created the dialog: part of the id drachtio-srf knows the dialog by. */
  creatorFromTag: string;
  localTag: string;
  remoteTag: string;
  /** From header we put on our requests (tagged). */
  localUri: string;
  /** To header we put on our requests (tagged). */
  remoteUri: string;
  localSeq: number;
  remoteSeq?: number;
  remoteTarget: string;
  routeSet: string[];
  localContact: string;
  protocol: Protocol;
  /** The peer the dialog-creating message came from (or went to). */
  peer: Peer;
  /** Set when the Contact is not where the peer's messages come from: send there instead. */
  natPeer?: Peer;
  owner: AppConnection;
}

/** An INVITE dialog (RFC 3261 12) as the engine keeps it: identity, sequence numbers, routing. */
export class Dialog {
  readonly id: string;
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly localUri: string;
  readonly remoteUri: string;
  localSeq: number;
  remoteSeq?: number;
  remoteTarget: string;
  routeSet: string[];
  localContact: string;
  readonly protocol: Protocol;
  readonly peer: Peer;
  natPeer?: Peer;
  owner: AppConnection;
  /** CSeq of our INVITE whose 2xx the app has still to ACK, and the ACK sent per INVITE CSeq (UAC). */
  pendingAckCSeq?: number;
  readonly sentAcks = new Map<number, { bytes: Buffer; dest: Peer }>();
  /** A CANCEL raced the 2xx: once the app ACKs, the engine hangs up (drachtio's ACK-BYE). */
  ackBye = false;
  /** Our 2xx to an INVITE from the peer, retransmitted until its ACK arrives (13.3.1.4). */
  unackedSuccess?: { cseq: number; transactionId: string };
  incomingInviteTxn?: string;
  outgoingInviteTxn?: string;
  readonly timers = new TimerSet();

  constructor(init: DialogInit) {
    this.id = `${init.callId};from-tag=${init.creatorFromTag}`;
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.remoteUri = init.remoteUri;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localContact = init.localContact;
    this.protocol = init.protocol;
    this.peer = init.peer;
    this.natPeer = init.natPeer;
    this.owner = init.owner;
  }

  get key(): string {
    return dialogKey(this.callId, this.localTag, this.remoteTag);
  }
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}|${localTag}|${remoteTag}`;
}

/** Dialogs by drachtio dialog id and by (Call-ID, local tag, remote tag). */
export class DialogTable {
  #byId = new Map<string, Dialog>();
  #byKey = new Map<string, Dialog>();

  get size(): number {
    return this.#byId.size;
  }

  add(dialog: Dialog): void {
    this.#byId.set(dialog.id, dialog);
    this.#byKey.set(dialog.key, dialog);
  }

  remove(dialog: Dialog): void {
    dialog.timers.clearAll();
    if (this.#byId.get(dialog.id) === dialog) this.#byId.delete(dialog.id);
    if (this.#byKey.get(dialog.key) === dialog) this.#byKey.delete(dialog.key);
  }

  byId(id: string): Dialog | undefined {
    return this.#byId.get(id);
  }

  /** The dialog an incoming request belongs to: our tag is in its To, the peer's in its From. */
  forRequest(callId: string, toTag: string, fromTag: string): Dialog | undefined {
    return this.#byKey.get(dialogKey(callId, toTag, fromTag));
  }

  byCallId(callId: string): Dialog | undefined {
    for (const dialog of this.#byId.values()) if (dialog.callId === callId) return dialog;
    return undefined;
  }

  all(): Dialog[] {
    return [...this.#byId.values()];
  }
}
