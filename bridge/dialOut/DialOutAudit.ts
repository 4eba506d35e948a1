// Every dial-out attempt, placed or refused: who asked, for which room, which
// number, how it ended and how long it talked. Each goes to the log, to the
// totals /metrics exports and to the operator's listing (GET /api/dial-outs),
// which keeps the newest in memory: a restart empties it, the log keeps all.
import { FINAL_DIAL_OUT_STATES, type DialOutState } from '../../protocol/protocol.ts';
import type { Logger } from '../../common/logger.ts';

export interface Inviter {
  /** The peer's id, or `operator` for REST: the per-inviter caps count by it. */
  readonly id: string;
  readonly displayName: string;
}

/** `refused`: a rule stopped it before the gateway; `unavailable`: no gateway could place it; else the call's state. */
export type AttemptOutcome = 'refused' | 'unavailable' | DialOutState;

export interface DialOutAttempt {
  /** The call's id (a refused attempt gets one too, to tell attempts apart). */
  id: string;
  at: number;
  room: string;
  inviter: { id: string; name: string };
  /** E.164 once it could be read; else as given. */
  number: string;
  outcome: AttemptOutcome;
  /** The rule or setting that refused it. */
  rule?: string;
  reason?: string;
  /** Answered time, once the call is over. */
  seconds: number;
}

/** What /metrics exports: monotonic totals since the bridge started. */
export interface DialOutTotals {
  /** By `placed`, `refused`, `unavailable`. */
  readonly attempts: Map<string, number>;
  /** Refusals by rule. */
  readonly refusals: Map<string, number>;
  /** Placed calls by final state. */
  readonly calls: Map<string, number>;
  seconds: number;
}

/** Attempts the listing keeps (the newest). */
const KEPT = 1000;

export class DialOutAudit {
  readonly #logger: Logger;
  readonly #kept: number;
  /** Oldest first; placed calls are updated in place as they progress. */
  readonly #attempts = new Map<string, DialOutAttempt>();
  readonly totals: DialOutTotals = { attempts: new Map(), refusals: new Map(), calls: new Map(), seconds: 0 };

  constructor(logger: Logger, kept = KEPT) {
    this.#logger = logger;
    this.#kept = kept;
  }

  /** Newest first. */
  list(): DialOutAttempt[] {
    return [...this.#attempts.values()].reverse();
  }

  refused(attempt: Omit<DialOutAttempt, 'seconds' | 'outcome'> & { outcome: 'refused' | 'unavailable' }): void {
    this.#add({ ...attempt, seconds: 0 });
    increment(this.totals.attempts, attempt.outcome);
    if (attempt.rule) increment(this.totals.refusals, attempt.rule);
    this.#logger.warn(logged(attempt), 'dial-out refused');
  }

  placed(attempt: Omit<DialOutAttempt, 'seconds' | 'outcome'>): void {
    this.#add({ ...attempt, outcome: 'calling', seconds: 0 });
    increment(this.totals.attempts, 'placed');
    this.#logger.info(logged(attempt), 'dial-out placed');
  }

  /** A placed call's progress; a final state closes its record with the talk time. */
  updated(callId: string, outcome: DialOutState, reason: string | undefined, seconds = 0): void {
    const attempt = this.#attempts.get(callId);
    if (attempt) Object.assign(attempt, { outcome, reason, seconds });
    if (!FINAL_DIAL_OUT_STATES.has(outcome)) return;
    increment(this.totals.calls, outcome);
    this.totals.seconds += seconds;
    this.#logger.info({ ...(attempt && logged(attempt)), call: callId, outcome, reason, seconds }, 'dial-out finished');
  }

  #add(attempt: DialOutAttempt): void {
    this.#attempts.set(attempt.id, attempt);
    for (const id of this.#attempts.keys()) {
      if (this.#attempts.size <= this.#kept) break;
      this.#attempts.delete(id);
    }
  }
}

function logged(attempt: Omit<DialOutAttempt, 'seconds' | 'outcome'>): Record<string, unknown> {
  return { call: attempt.id, room: attempt.room, inviter: attempt.inviter, number: attempt.number, rule: attempt.rule, reason: attempt.reason };
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
