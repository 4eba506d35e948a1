import { sequenceDelta } from './rtp.ts';

/**
 * Reorders one stream's 20 ms packets and releases one per mixer tick. It
 * starts playing once `targetFrames` are queued (absorbing network jitter),
 * drops what arrives too late, and skips ahead when it backs up past
 * `maxFrames` (a sender faster than our clock, or a burst).
 */
export class JitterBuffer {
  readonly #packets = new Map<number, Buffer>();
  readonly #targetFrames: number;
  readonly #maxFrames: number;
  #next: number | undefined;
  #playing = false;
  #misses = 0;

  constructor(targetFrames = 2, maxFrames = 10) {
    this.#targetFrames = targetFrames;
    this.#maxFrames = maxFrames;
  }

  push(sequence: number, payload: Buffer): void {
    if (this.#next === undefined) this.#next = sequence;
    const ahead = sequenceDelta(sequence, this.#next);
    if (ahead < 0) {
      // Before what we play next: late, reordered before playback began, or a sender that restarted its sequence.
      if (this.#playing && ahead > -100) return; // late
      if (this.#playing || ahead <= -this.#maxFrames) {
        this.#packets.clear();
        this.#playing = false;
      }
      this.#next = sequence;
    }
    this.#packets.set(sequence, payload);
    while (sequenceDelta(sequence, this.#next) >= this.#maxFrames) {
      this.#packets.delete(this.#next);
      this.#next = (this.#next + 1) & 0xffff;
    }
  }

  /**
   * The payload for this tick: a Buffer, null for a lost packet the decoder
   * should conceal, or undefined when the stream is not playing (silence).
   */
  pull(): Buffer | null | undefined {
    if (this.#next === undefined) return undefined;
    if (!this.#playing) {
      if (this.#packets.size < this.#targetFrames) return undefined;
      this.#playing = true;
    }
    const payload = this.#packets.get(this.#next);
    this.#packets.delete(this.#next);
    this.#next = (this.#next + 1) & 0xffff;
    if (payload) {
      this.#misses = 0;
      return payload;
    }
    // A stream that stopped (paused, muted, gone) rebuffers when it comes back.
    if (++this.#misses >= 3 && this.#packets.size === 0) {
      this.#playing = false;
      this.#next = undefined;
      this.#misses = 0;
      return undefined;
    }
    return null;
  }
}
