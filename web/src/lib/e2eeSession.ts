// End-to-end encryption as a meeting runs it, on the page's side: in a
// browser that can encrypt, every sender and receiver runs its frames through
// a worker (web/src/e2ee/worker.ts) by an RTCRtpScriptTransform, set before
// it carries media (Chromium ignores one set later). While the room's E2EE is
// off the worker passes frames as they are and holds no keys; while it is on
// it holds ours and encrypts or decrypts every frame. This module tells the worker who is there and relays
// its key messages over signaling (sendE2eeMessage, which the bridge passes
// on unread):
//  - our public key to each other participant, once, and theirs to the worker;
//  - our current sender key, wrapped, to everyone we meet when E2EE comes on;
//  - a ratchet when a newcomer sends its public key (the new key to it only),
//    a rotation when someone leaves (the new key to everyone staying).
// Our answer to a public key carries ours with our wrapped key in one message:
// a newcomer decrypts after one round trip, not two.
// Turning E2EE off drops every key: the next time starts with new ones.
import { signal } from '@preact/signals';
import { verificationCode, type VerificationCode } from '../e2ee/verificationCode.ts';
import type { FrameCounts, TransformOptions, WorkerReply, WorkerRequest } from './e2eeWorkerProtocol.ts';

/** A sender or receiver to run through the worker. */
export type MediaEndpoint =
  | { side: 'send'; kind: 'audio' | 'video'; rtp: RTCRtpSender }
  | { side: 'receive'; kind: 'audio' | 'video'; peerId: string; rtp: RTCRtpReceiver };

/** What crosses signaling, as JSON in sendE2eeMessage's payload: a public key, a wrapped sender key, or both (the public key first). */
interface KeyMessage {
  publicKey?: string;
  wrappedKey?: string;
}

/** Reports in a row with failures and nothing decrypted before a sender counts as "cannot decrypt" (a key may be on its way). */
const FAILING_REPORTS = 3;

/**
 * A worker started with the page, while the join form is up (prewarmE2eeWorker): it loads and
 * makes its keys then, not in the few hundred milliseconds between Join and the join's answer,
 * when the page also connects and sets up its media. The next session takes it.
 */
let prewarmed: Worker | undefined;

function startWorker(): Worker {
  return new Worker(new URL('../e2ee/worker.ts', import.meta.url), { type: 'module', name: 'e2ee' });
}

/** Starts the worker the next session will take, in a browser that can encrypt. */
export function prewarmE2eeWorker(): void {
  if (!prewarmed && E2eeSession.supported()) prewarmed = startWorker();
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export interface E2eeSessionOptions {
  /** A browser (not a recorder) whose encoded transforms work: without it nothing here runs. */
  capable: boolean;
  /** Sends one key message; false if it could not be sent. */
  send(to: string, payload: string): Promise<boolean>;
  setEncrypting(encrypting: boolean): Promise<void>;
  notice(text: string): void;
}

export class E2eeSession {
  /** The verification code we share with each other participant, by peer id. */
  readonly codes = signal<ReadonlyMap<string, VerificationCode>>(new Map());
  /** Senders whose frames keep failing to decrypt. */
  readonly undecryptable = signal<ReadonlySet<string>>(new Set());
  /** Frames through the worker since E2EE came on, by sender (our own under our id). */
  readonly frames = signal<ReadonlyMap<string, FrameCounts>>(new Map());

  readonly #options: E2eeSessionOptions;
  #worker: Worker | undefined;
  #on = false;
  #selfId = '';
  #publicKey: Promise<string> | undefined;
  /** Who was in the room when E2EE came on for us: anyone else is a newcomer, whose arrival ratchets our key. */
  #present = new Set<string>();
  /** Whose public key the worker has (we never take a second one from the same peer). */
  #peers = new Set<string>();
  #sentPublicKey = new Set<string>();
  /** Key messages one after another: a wrapped key needs its sender's public key in the worker first. */
  #queue: Promise<unknown> = Promise.resolve();
  #failing = new Map<string, number>();
  #nextId = 0;
  readonly #pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();

  constructor(options: E2eeSessionOptions) {
    this.#options = options;
    // Loaded now, while we connect and join, rather than on the way to the first frame.
    if (options.capable) this.#ensureWorker();
  }

  /** Whether this browser can encrypt frames (what the join tells the bridge). */
  static supported(): boolean {
    return typeof RTCRtpScriptTransform !== 'undefined';
  }

  /** Our id in the room, new on every join: whose frames our senders' transforms carry. */
  set selfId(peerId: string) {
    this.#selfId = peerId;
  }

  /** E2EE is on: encrypt all we send, decrypt all we receive, and meet `peerIds` (the web participants). */
  async start(peerIds: readonly string[]): Promise<void> {
    // Everything up to posting `start` happens before the first await: the caller relies on the
    // worker sealing frames from the moment this is called.
    if (!this.#options.capable || this.#on) return;
    this.#on = true;
    this.#present = new Set(peerIds);
    this.#publicKey = this.#call({ op: 'start' }) as Promise<string>;
    await this.#publicKey;
    // Our shield and our public keys go out together: the keys are what the others answer.
    await Promise.all([this.#options.setEncrypting(true), ...peerIds.map((peerId) => this.#run(() => this.#sendPublicKey(peerId)))]);
  }

  /** E2EE is off (or our media and peer id are gone: `tellBridge` false): frames pass as they are, and the keys are dropped. */
  async stop(tellBridge: boolean): Promise<void> {
    if (!this.#on) return;
    this.#on = false;
    void this.#call({ op: 'stop' });
    this.#peers = new Set();
    this.#sentPublicKey = new Set();
    this.#failing = new Map();
    this.codes.value = new Map();
    this.undecryptable.value = new Set();
    this.frames.value = new Map();
    if (tellBridge) await this.#options.setEncrypting(false);
  }

  /** The meeting is over for us: the worker goes. */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
    this.#on = false;
  }

  /** Runs a new sender or receiver through the worker, E2EE on or not (before it carries a frame). */
  attach(endpoint: MediaEndpoint): void {
    if (!this.#options.capable) return;
    const options: TransformOptions = {
      side: endpoint.side,
      kind: endpoint.kind,
      peerId: endpoint.side === 'send' ? this.#selfId : endpoint.peerId,
    };
    endpoint.rtp.transform = new RTCRtpScriptTransform(this.#ensureWorker(), options);
  }

  /** A key message from `from`. */
  receive(from: string, payload: string): void {
    if (!this.#on) return;
    void this.#run(() => this.#receive(from, payload));
  }

  /** Someone left: a fresh key for everyone staying, so theirs opens nothing sent from now on. */
  peerLeft(peerId: string): void {
    if (!this.#on) return;
    // Whoever left is no longer someone we cannot decrypt.
    this.#failing.delete(peerId);
    if (this.undecryptable.value.has(peerId)) this.undecryptable.value = new Set([...this.undecryptable.value].filter((id) => id !== peerId));
    if (!this.#peers.has(peerId)) return;
    this.#peers.delete(peerId);
    const codes = new Map(this.codes.value);
    codes.delete(peerId);
    this.codes.value = codes;
    void this.#run(async () => {
      await this.#call({ op: 'removePeer', peerId });
      await this.#call({ op: 'change', how: 'rotate', to: [...this.#peers] });
    });
  }

  async #receive(from: string, payload: string): Promise<void> {
    let message: KeyMessage;
    try {
      message = JSON.parse(payload) as KeyMessage;
    } catch {
      return;
    }
    const { publicKey, wrappedKey } = message;
    const met = typeof publicKey === 'string' && !this.#peers.has(from);
    if (met) {
      await this.#call({ op: 'addPeer', peerId: from, publicKey });
      this.#peers.add(from);
    }
    // Their key first: it is what stands between us and their picture. One that cannot be
    // unwrapped is told (below) but does not keep ours from them.
    const keySet = typeof wrappedKey === 'string' ? this.#call({ op: 'setKey', peerId: from, wrapped: wrappedKey }) : Promise.resolve();
    await keySet.catch(() => undefined);
    if (met) {
      // Our public key goes with our wrapped key (#handOut), in one message; the code, for people
      // to compare, after it, off the way to their first picture.
      if (this.#present.has(from)) await this.#handOut(await this.#call({ op: 'wrapCurrent', to: [from] }));
      else await this.#call({ op: 'change', how: 'ratchet', to: [from] });
      this.codes.value = new Map(this.codes.value).set(from, await verificationCode(await this.#publicKey!, publicKey));
    }
    await keySet;
  }

  async #sendPublicKey(peerId: string): Promise<void> {
    if (this.#sentPublicKey.has(peerId)) return;
    this.#sentPublicKey.add(peerId);
    await this.#options.send(peerId, JSON.stringify({ publicKey: await this.#publicKey! } satisfies KeyMessage));
  }

  /** Sends wrapped keys, each with our public key if its receiver does not have it yet. */
  async #handOut(messages: unknown): Promise<boolean> {
    const publicKey = await this.#publicKey!;
    const sent = await Promise.all(
      (messages as { to: string; wrapped: string }[]).map(({ to, wrapped }) => {
        const message: KeyMessage = this.#sentPublicKey.has(to) ? { wrappedKey: wrapped } : { publicKey, wrappedKey: wrapped };
        this.#sentPublicKey.add(to);
        return this.#options.send(to, JSON.stringify(message));
      }),
    );
    return sent.every(Boolean);
  }

  /** One key step at a time; a failed one is told and does not stop the next. */
  #run(step: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(step).catch((error: Error) => {
      if (this.#on) this.#options.notice(`End-to-end encryption: ${error.message}`);
    });
    this.#queue = next;
    return next;
  }

  #ensureWorker(): Worker {
    if (!this.#worker) {
      this.#worker = prewarmed ?? startWorker();
      prewarmed = undefined;
      this.#worker.addEventListener('message', (event: MessageEvent<WorkerReply>) => this.#fromWorker(event.data));
    }
    return this.#worker;
  }

  #call(request: Request): Promise<unknown> {
    const worker = this.#ensureWorker();
    const id = ++this.#nextId;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  #fromWorker(reply: WorkerReply): void {
    switch (reply.type) {
      case 'reply': {
        const pending = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        if (reply.error !== undefined) pending?.reject(new Error(reply.error));
        else pending?.resolve(reply.result);
        return;
      }
      case 'handOut':
        void this.#handOut(reply.messages).then(
          (sent) => this.#call({ op: 'handedOut', changeId: reply.id, error: sent ? undefined : 'a key could not be sent' }),
          (error: Error) => this.#call({ op: 'handedOut', changeId: reply.id, error: error.message }),
        );
        return;
      case 'counts':
        this.#count(reply.counts);
    }
  }

  #count(report: Record<string, FrameCounts>): void {
    const totals = new Map(this.frames.value);
    for (const [peerId, counts] of Object.entries(report)) {
      const total = totals.get(peerId) ?? { encrypted: 0, decrypted: 0, failed: 0 };
      totals.set(peerId, {
        encrypted: total.encrypted + counts.encrypted,
        decrypted: total.decrypted + counts.decrypted,
        failed: total.failed + counts.failed,
      });
      if (peerId === this.#selfId) continue;
      this.#failing.set(peerId, counts.failed > 0 && counts.decrypted === 0 ? (this.#failing.get(peerId) ?? 0) + 1 : 0);
    }
    this.frames.value = totals;
    const undecryptable = new Set([...this.#failing].filter(([, reports]) => reports >= FAILING_REPORTS).map(([peerId]) => peerId));
    if ([...undecryptable].join() !== [...this.undecryptable.value].join()) this.undecryptable.value = undecryptable;
  }
}
