// The minutes of phone calls the bridge may place in a day (UTC), all rooms
// together: a cap on what a night of fraud can cost. Answered time counts, as
// trunks bill it; ringing is free. When the day's minutes run out, the calls
// under way are ended and new ones refused until midnight UTC.

const DAY_MS = 86_400_000;

export class DialOutBudget {
  readonly #budgetMs: number;
  readonly #now: () => number;
  #day: number;
  /** Talk time of today's finished calls. */
  #usedMs = 0;
  /** Answered calls under way, and when they were answered. */
  readonly #talking = new Map<string, number>();

  constructor(dailyMinutes: number, now: () => number = Date.now) {
    this.#budgetMs = dailyMinutes * 60_000;
    this.#now = now;
    this.#day = Math.floor(now() / DAY_MS);
  }

  get dailyMinutes(): number {
    return this.#budgetMs / 60_000;
  }

  answered(callId: string): void {
    if (!this.#talking.has(callId)) this.#talking.set(callId, this.#now());
  }

  /** The call is over: its talk time today is spent. Returns its whole talk time in seconds (0 if never answered). */
  finished(callId: string): number {
    const answeredAt = this.#talking.get(callId);
    if (answeredAt === undefined) return 0;
    const now = this.#rollOver();
    this.#usedMs += now - Math.max(answeredAt, this.#dayStart);
    this.#talking.delete(callId);
    return Math.round((now - answeredAt) / 1000);
  }

  /** What is left of today's minutes, counting the calls under way up to now (negative once overspent). */
  get remainingMs(): number {
    const now = this.#rollOver();
    let talkingMs = 0;
    for (const answeredAt of this.#talking.values()) talkingMs += now - Math.max(answeredAt, this.#dayStart);
    return this.#budgetMs - this.#usedMs - talkingMs;
  }

  get spent(): boolean {
    return this.remainingMs <= 0;
  }

  /** Minutes spent today, finished calls and those under way. */
  get usedMinutes(): number {
    return (this.#budgetMs - this.remainingMs) / 60_000;
  }

  /** How long until the calls under way use up the rest (they share it); undefined while nobody talks. */
  get msUntilSpent(): number | undefined {
    if (this.#talking.size === 0) return undefined;
    return Math.max(0, Math.ceil(this.remainingMs / this.#talking.size));
  }

  get #dayStart(): number {
    return this.#day * DAY_MS;
  }

  /** A new UTC day starts with the whole budget. */
  #rollOver(): number {
    const now = this.#now();
    const day = Math.floor(now / DAY_MS);
    if (day !== this.#day) {
      this.#day = day;
      this.#usedMs = 0;
    }
    return now;
  }
}
