import { FRAME_SAMPLES } from '../../media/codecs.ts';

interface Queued {
  samples: Int16Array;
  offset: number;
  done: () => void;
}

/** Audio meant for one caller only (prompts, tones), played frame by frame over whatever the room says. */
export class PromptPlayer {
  readonly #queue: Queued[] = [];

  /** Queues audio; resolves when it has been played or cut short. */
  play(samples: Int16Array): Promise<void> {
    return new Promise((resolve) => this.#queue.push({ samples, offset: 0, done: resolve }));
  }

  /** Resolves once everything queued now has been played. */
  whenIdle(): Promise<void> {
    const last = this.#queue.at(-1);
    if (!last) return Promise.resolve();
    return new Promise((resolve) => {
      const done = last.done;
      last.done = () => {
        done();
        resolve();
      };
    });
  }

  /** Stops everything queued (the caller started typing). */
  interrupt(): void {
    for (const item of this.#queue.splice(0)) item.done();
  }

  /** Adds the next 20 ms of queued audio onto `frame`, clamping. */
  mixInto(frame: Int16Array): void {
    const item = this.#queue[0];
    if (!item) return;
    const end = Math.min(item.offset + FRAME_SAMPLES, item.samples.length);
    for (let i = item.offset, j = 0; i < end; i++, j++) {
      const value = frame[j]! + item.samples[i]!;
      frame[j] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
    item.offset = end;
    if (item.offset >= item.samples.length) {
      this.#queue.shift();
      item.done();
    }
  }
}
