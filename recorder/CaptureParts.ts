import type { RecordingPart } from '../queue/recordingJob.ts';
import type { ProblemReporter } from './RecordingSource.ts';

/** How often crashed capture processes are brought back before a job gives up. */
const MAX_RESTARTS = 10;

/**
 * A source's parts and its crash budget, shared by the composite and the
 * audio-only source: a crashed capture ends its part (kept, playable) and
 * the next one gets the next number, until the budget is spent.
 */
export class CaptureParts {
  readonly #parts: RecordingPart[] = [];
  readonly #onProblem: ProblemReporter;
  #number: number;
  #restarts = 0;

  constructor(firstPart: number, onProblem: ProblemReporter) {
    this.#number = firstPart;
    this.#onProblem = onProblem;
  }

  /** The number of the part being (or about to be) written. */
  get number(): number {
    return this.#number;
  }

  begin(path: string): void {
    this.#parts.push({ path, startedAt: Date.now(), endedAt: 0, endedBy: '' });
  }

  /** The part being written began with media captured at `since` (its time zero), a little after it was begun. */
  capturedFrom(since: number): void {
    const part = this.#parts.at(-1);
    if (part && part.endedAt === 0) part.startedAt = since;
  }

  /** Ends the part being written; `at`, when the stop was asked for, is where its file is cut when joined. */
  end(endedBy: string, at = Date.now()): void {
    const part = this.#parts.at(-1);
    if (part && part.endedAt === 0) Object.assign(part, { endedAt: at, endedBy });
  }

  /** Every part so far; the one being written ends now and has no endedBy yet. */
  list(): RecordingPart[] {
    const now = Date.now();
    return this.#parts.map((p) => (p.endedAt === 0 ? { ...p, endedAt: now } : { ...p }));
  }

  /** Counts a crash; false, with a fatal problem, once the budget is spent. */
  mayRestart(what: string): boolean {
    this.#restarts += 1;
    if (this.#restarts <= MAX_RESTARTS) return true;
    this.#onProblem(`${what}; giving up after ${MAX_RESTARTS} restarts`, true);
    return false;
  }

  /** `what` (the capture, or something it needs) died: ends the part and moves on to the next, if the budget allows. */
  captureDied(reason: string, what = 'the capture (ffmpeg)'): boolean {
    this.end(`${what} died (${reason})`);
    if (!this.mayRestart(`${what} died: ${reason}`)) return false;
    this.#number += 1;
    this.#onProblem(`${what} died (${reason}); recording continues in part ${this.#number}`);
    return true;
  }
}
