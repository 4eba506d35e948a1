// A receiver's video frames that came before the first key of their sender,
// kept from the last keyframe on so they can be decrypted and decoded the
// moment the key comes. A newcomer to an encrypted meeting races two things
// through the bridge: the sender's key (over signaling, then through the
// page's busy main thread into the worker) and the keyframe the sender makes
// as soon as it has handed that key out (over RTP). When the keyframe wins
// and is dropped, the picture waits for another keyframe round trip; held,
// it is decoded as soon as the key is in.
//
// Deltas before the first keyframe are useless to a decoder and are not
// kept; a newer keyframe replaces everything before it. Frames stay
// encrypted while held.

/** At most this many frames held per receiver (two seconds at 30 fps): a key that takes longer finds the next keyframe instead. */
export const MAX_HELD_FRAMES = 60;

export class HeldFrames<Frame> {
  #frames: Frame[] = [];

  get size(): number {
    return this.#frames.length;
  }

  /** Keeps `frame` if it can be decoded once the key comes; false if it was not kept (nor anything before it, when the cap is passed). */
  hold(frame: Frame, keyframe: boolean): boolean {
    if (keyframe) this.#frames = [frame];
    else if (this.#frames.length === 0) return false;
    else if (this.#frames.length >= MAX_HELD_FRAMES) {
      this.#frames = [];
      return false;
    } else this.#frames.push(frame);
    return true;
  }

  /** Everything held, oldest first; nothing is held after. */
  take(): Frame[] {
    const frames = this.#frames;
    this.#frames = [];
    return frames;
  }
}
