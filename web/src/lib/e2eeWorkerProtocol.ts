// What the page and the E2EE worker (web/src/e2ee/worker.ts) say to each
// other. Keys cross only as public keys and as keys wrapped for one peer:
// sender keys stay in the worker.

/** What each RTCRtpScriptTransform is told: whose frames, which way, which codec. */
export interface TransformOptions {
  side: 'send' | 'receive';
  kind: 'audio' | 'video';
  /** The sender: ours for `send`. */
  peerId: string;
}

/** Frames through the worker since its last report, for one sender. */
export interface FrameCounts {
  encrypted: number;
  decrypted: number;
  failed: number;
}

/** Each with an `id` the worker's `reply` repeats. */
export type WorkerRequest = { id: number } & (
  /** E2EE is on: new keys; the reply is our public key. Frames are encrypted from now on. */
  | { op: 'start' }
  /** E2EE is off: every key dropped, frames pass untouched. */
  | { op: 'stop' }
  | { op: 'addPeer'; peerId: string; publicKey: string }
  | { op: 'removePeer'; peerId: string }
  /** Our current sender key wrapped for each of `to` (those whose public key we have). */
  | { op: 'wrapCurrent'; to: string[] }
  /** A key change (ratchet on a join, rotate on a leave) handed to `to` before frames use it. */
  | { op: 'change'; how: 'ratchet' | 'rotate'; to: string[] }
  /** The page sent change `id`'s wrapped keys (or could not: the change is abandoned). */
  | { op: 'handedOut'; changeId: number; error?: string }
  | { op: 'setKey'; peerId: string; wrapped: string }
);

export type WorkerReply =
  | { type: 'reply'; id: number; result?: unknown; error?: string }
  /** Wrapped keys to send before change `id` takes effect; answer with `handedOut`. */
  | { type: 'handOut'; id: number; messages: { to: string; wrapped: string }[] }
  | { type: 'counts'; counts: Record<string, FrameCounts> };
