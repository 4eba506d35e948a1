import { performance } from 'node:perf_hooks';
import { FRAME_MS } from './codecs.ts';

/**
 * One 20 ms tick for every leg and mixer in the process. Timers drift and
 * stall under load, so each wake-up runs as many ticks as are due; after a
 * long stall (the process was starved) it resynchronises rather than bursting.
 */
export class MediaClock {
  readonly #listeners = new Set<() => void>();
  readonly #onError: (error: unknown) => void;
  #next = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Ticks skipped because the process could not keep up. */
  skipped = 0;

  /** `onError` hears a listener's failure; the other listeners keep their tick. */
  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  add(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#next = performance.now() + FRAME_MS;
      this.#schedule();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#run(), Math.max(0, this.#next - performance.now()));
  }

  #run(): void {
    const now = performance.now();
    if (now - this.#next > 10 * FRAME_MS) {
      this.skipped += Math.floor((now - this.#next) / FRAME_MS);
      this.#next = now;
    }
    while (this.#next <= now) {
      for (const listener of this.#listeners) {
        try {
          listener();
        } catch (error) {
          this.#onError(error);
        }
      }
      this.#next += FRAME_MS;
    }
    if (this.#listeners.size > 0) this.#schedule();
  }
}
