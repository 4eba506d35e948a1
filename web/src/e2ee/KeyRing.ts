// The keys we hold for one other participant's frames: the newest generation
// of their sender key and the few before it, because frames encrypted just
// before a key change are still in flight after it. Each generation has its
// own replay window (the counter restarts with every key). One ring per
// sender, for all their tracks, as their frames share one counter.

import { clearPrefixLength, type FrameCodec, openFrame, parseFrame, type ParsedFrame } from './FrameCipher.ts';
import { type CipherSuite, deriveFrameKey, type FrameKey, ratchetSenderKey, type SenderKey } from './frameKeys.ts';
import { ReplayWindow } from './ReplayWindow.ts';
import type { Bytes } from './bytes.ts';

/** Generations kept: the newest and the two before it. */
const KEPT = 3;
/**
 * How many joins a sender may be ahead of us before its frames are dropped
 * rather than followed: each step costs an HKDF and a failed AES-GCM for a
 * frame under a key we cannot derive (a rotation whose key is yet to arrive).
 */
const MAX_RATCHET_STEPS = 4;

/** Why a frame was not decrypted. `cannot-decrypt` is a wrong key and a changed frame alike: AES-GCM cannot tell them apart. */
export type DecryptFailure = 'malformed' | 'unknown-key' | 'replayed' | 'cannot-decrypt';
export type Decrypted = { ok: true; frame: Bytes } | { ok: false; failure: DecryptFailure };

interface Generation {
  readonly key: SenderKey;
  readonly frameKey: FrameKey;
  readonly replay: ReplayWindow;
}

export class KeyRing {
  readonly suite: CipherSuite;
  /** By key id, oldest first. */
  readonly #generations = new Map<number, Generation>();

  constructor(suite: CipherSuite) {
    this.suite = suite;
  }

  /** Whether any key of the sender's has come yet. */
  get hasKeys(): boolean {
    return this.#generations.size > 0;
  }

  #newest(): Generation | undefined {
    return [...this.#generations.values()].at(-1);
  }

  /**
   * A key the sender handed us. Only a newer generation is taken: an older or
   * repeated one (a replayed key message) would reset that key's replay window.
   */
  async setKey(key: SenderKey): Promise<boolean> {
    return this.#install(key, await deriveFrameKey(key, this.suite)) !== undefined;
  }

  #install(key: SenderKey, frameKey: FrameKey): Generation | undefined {
    const newest = this.#newest();
    if (newest && key.keyId <= newest.key.keyId) return undefined;
    const generation = { key, frameKey, replay: new ReplayWindow() };
    this.#generations.set(key.keyId, generation);
    for (const keyId of this.#generations.keys()) {
      if (this.#generations.size <= KEPT) break;
      this.#generations.delete(keyId);
    }
    return generation;
  }

  async decrypt(frame: Bytes, codec: FrameCodec): Promise<Decrypted> {
    const clearBytes = clearPrefixLength(frame, codec);
    const parsed = clearBytes === undefined ? undefined : parseFrame(frame, clearBytes);
    if (!parsed) return { ok: false, failure: 'malformed' };
    const generation = this.#generations.get(parsed.header.keyId);
    if (!generation) return this.#followRatchet(parsed);
    const plain = await openFrame(generation.frameKey, parsed);
    if (!plain) return { ok: false, failure: 'cannot-decrypt' };
    if (!generation.replay.accept(parsed.header.counter)) return { ok: false, failure: 'replayed' };
    return { ok: true, frame: plain };
  }

  /**
   * A frame under a key id we do not hold. A few generations ahead of our
   * newest, it may be the sender's ratchet after joins: derive those steps,
   * and keep the result only if the frame authenticates under it.
   */
  async #followRatchet(parsed: ParsedFrame): Promise<Decrypted> {
    const newest = this.#newest();
    const steps = newest ? parsed.header.keyId - newest.key.keyId : 0;
    if (!newest || steps < 1 || steps > MAX_RATCHET_STEPS) return { ok: false, failure: 'unknown-key' };
    let key = newest.key;
    for (let i = 0; i < steps; i++) key = await ratchetSenderKey(key);
    const frameKey = await deriveFrameKey(key, this.suite);
    const plain = await openFrame(frameKey, parsed);
    if (!plain) return { ok: false, failure: 'unknown-key' };
    // Another frame may have installed this generation while we derived it (then
    // its replay window is the one), or a newer key arrived (then it is too late).
    const generation = this.#install(key, frameKey) ?? this.#generations.get(key.keyId);
    if (!generation) return { ok: false, failure: 'unknown-key' };
    if (!generation.replay.accept(parsed.header.counter)) return { ok: false, failure: 'replayed' };
    return { ok: true, frame: plain };
  }
}
