// Which frame counters one key has already accepted, as SRTP's replay list
// does (RFC 3711 section 3.3.2): the highest counter seen, and a bitmap of the
// WINDOW counters below it. Older than the window is refused too.
//
// The window is counted in a sender's frames of every kind: audio, video and
// each simulcast layer draw from one counter, some 150 a second, and video
// frames reach the transform later than audio ones (they wait for
// retransmissions to be complete). 1024 is some 7 seconds of that, far more
// than any frame is late, and still bounded.

export const REPLAY_WINDOW = 1024;
const WINDOW = BigInt(REPLAY_WINDOW);
const ALL = (1n << WINDOW) - 1n;

export class ReplayWindow {
  #highest = -1n;
  /** Bit i: counter `#highest - i` was accepted. */
  #seen = 0n;

  #isNew(counter: number): boolean {
    const value = BigInt(counter);
    if (value > this.#highest) return true;
    const age = this.#highest - value;
    return age < WINDOW && (this.#seen & (1n << age)) === 0n;
  }

  /**
   * Records the counter of a frame that authenticated; false if it was seen
   * before or is older than the window. Only authentic frames are recorded,
   * or a forged frame with a huge counter would push real ones out; and it is
   * one step, with no await between test and set, so two copies of a frame
   * decrypted side by side cannot both pass.
   */
  accept(counter: number): boolean {
    if (!this.#isNew(counter)) return false;
    const value = BigInt(counter);
    if (value > this.#highest) {
      const shift = value - this.#highest;
      this.#seen = shift >= WINDOW ? 1n : ((this.#seen << shift) | 1n) & ALL;
      this.#highest = value;
    } else {
      this.#seen |= 1n << (this.#highest - value);
    }
    return true;
  }
}
