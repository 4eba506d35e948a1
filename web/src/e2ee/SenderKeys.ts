// Our own sending key and the frames it encrypts. Each participant has one,
// random, and hands it to every other participant wrapped under a pairwise
// key (PairwiseKeys.ts). It changes in two ways:
//  - someone joins: ratchet() moves it one HKDF step forward. Those already in
//    follow by themselves (KeyRing derives the same step when frames with the
//    next key id arrive); only the newcomer needs the result sent.
//  - someone leaves: rotate() draws a fresh random key, sent to everyone who
//    stays, so the leaver's copy (and anything ratcheted from it) is useless.
// One instance encrypts all of a participant's tracks (audio, video, every
// simulcast layer): receivers hold one key per sender, and the one counter
// keeps every nonce under it distinct.

import { clearPrefixLength, type FrameCodec, sealFrame } from './FrameCipher.ts';
import {
  type CipherSuite,
  deriveFrameKey,
  type FrameKey,
  randomSenderKey,
  ratchetSenderKey,
  type SenderKey,
} from './frameKeys.ts';
import type { Bytes } from './bytes.ts';

export class SenderKeys {
  readonly suite: CipherSuite;
  #key: SenderKey;
  #frameKey: FrameKey;
  /** Frames encrypted under the current key: each one's nonce, so never reused under it. */
  #counter = 0;
  /** The highest key id any change has handed out, used or abandoned. */
  #handedOutKeyId = 0;
  /** Key changes, one after another, so two quick joins make two generations, not one twice. */
  #changes: Promise<unknown> = Promise.resolve();

  private constructor(suite: CipherSuite, key: SenderKey, frameKey: FrameKey) {
    this.suite = suite;
    this.#key = key;
    this.#frameKey = frameKey;
  }

  static async create(suite: CipherSuite): Promise<SenderKeys> {
    const key = randomSenderKey(0);
    return new SenderKeys(suite, key, await deriveFrameKey(key, suite));
  }

  /** The key frames are encrypted with now: what a receiver needs to decrypt them. */
  get current(): SenderKey {
    return this.#key;
  }

  /**
   * Someone joined: the next generation by HKDF, for the newcomer.
   * `beforeUse` is where the caller sends it: frames stay under the old key
   * until it settles, so the first ones under the new key (a keyframe among
   * them) do not reach a receiver still without it. If it throws, nothing
   * changes.
   */
  ratchet(beforeUse?: (key: SenderKey) => Promise<void>): Promise<SenderKey> {
    // As many HKDF steps as key ids were handed out since the current key (an abandoned
    // ratchet's id is not reused): receivers following the ratchet step by key id.
    return this.#change(async (key) => {
      let next = await ratchetSenderKey(key);
      while (next.keyId <= this.#handedOutKeyId) next = await ratchetSenderKey(next);
      return next;
    }, beforeUse);
  }

  /**
   * Someone left: a fresh random key, for everyone who stays; `beforeUse` as
   * for ratchet(). Until it settles the leaver can still read what we send,
   * so it should wait for acknowledgements or a short timeout, not longer.
   */
  rotate(beforeUse?: (key: SenderKey) => Promise<void>): Promise<SenderKey> {
    return this.#change(async () => randomSenderKey(this.#handedOutKeyId + 1), beforeUse);
  }

  #change(
    next: (key: SenderKey) => Promise<SenderKey>,
    beforeUse: ((key: SenderKey) => Promise<void>) | undefined,
  ): Promise<SenderKey> {
    const changed = this.#changes.then(async () => {
      const key = await next(this.#key);
      // Its id is spent even if the change is abandoned: some receivers may hold this key, and
      // would refuse a different one under the same id (a key must be newer to be taken).
      this.#handedOutKeyId = key.keyId;
      await beforeUse?.(key);
      this.#frameKey = await deriveFrameKey(key, this.suite);
      this.#key = key;
      this.#counter = 0;
      return key;
    });
    this.#changes = changed.catch(() => undefined);
    return changed;
  }

  /** The frame encrypted under the current key; refused for a frame too short to keep its clear prefix. */
  async encrypt(frame: Bytes, codec: FrameCodec): Promise<Bytes> {
    const clearBytes = clearPrefixLength(frame, codec);
    if (clearBytes === undefined) throw new RangeError(`a ${codec} frame of ${frame.length} bytes is shorter than its clear prefix`);
    // Key and counter taken together before any await: frames encrypted side by
    // side never share a nonce. (2^53 frames, the most a number counts exactly,
    // is millions of years of video.)
    return sealFrame(this.#frameKey, this.#counter++, frame, clearBytes);
  }
}
