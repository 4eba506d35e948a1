// How many phone calls the bridge places: at once and per hour, per room,
// per inviter and overall. A stolen moderator account or operator key can then
// run up only so many calls before someone notices.

export interface DialOutLimits {
  /** Calls under way at once (ringing or answered). */
  callsPerRoom: number;
  callsPerInviter: number;
  calls: number;
  /** Calls placed in the last hour (a sliding window). */
  attemptsPerHourPerRoom: number;
  attemptsPerHourPerInviter: number;
  attemptsPerHour: number;
}

/** The cap that refused a call, named by its setting. */
export interface CapRefusal {
  rule: string;
  message: string;
}

const HOUR_MS = 3_600_000;

/** What one scope (a room, an inviter, or everything) has under way and placed this hour. */
class Scope {
  readonly live = new Set<string>();
  /** When each call of the last hour was placed, oldest first. */
  attempts: number[] = [];

  prune(now: number): void {
    const firstRecent = this.attempts.findIndex((at) => at > now - HOUR_MS);
    this.attempts = firstRecent === -1 ? [] : this.attempts.slice(firstRecent);
  }

  get idle(): boolean {
    return this.live.size === 0 && this.attempts.length === 0;
  }
}

interface ScopeCaps {
  scope: Scope;
  calls: number;
  callsRule: string;
  attempts: number;
  attemptsRule: string;
  what: string;
}

/** Rooms by name and inviters by id: a room closed and opened again, or a rejoined inviter, keeps its count. */
export class DialOutCaps {
  readonly #limits: DialOutLimits;
  readonly #now: () => number;
  readonly #rooms = new Map<string, Scope>();
  readonly #inviters = new Map<string, Scope>();
  readonly #all = new Scope();
  readonly #calls = new Map<string, { room: string; inviter: string }>();

  constructor(limits: DialOutLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** The first cap a new call from `inviter` in `room` would break, if any. */
  refusal(room: string, inviter: string): CapRefusal | undefined {
    const now = this.#now();
    for (const caps of this.#scopes(room, inviter, false)) {
      caps.scope.prune(now);
      if (caps.scope.live.size >= caps.calls) {
        return { rule: caps.callsRule, message: `at most ${caps.calls} dial-out calls at once ${caps.what} (${caps.callsRule})` };
      }
      if (caps.scope.attempts.length >= caps.attempts) {
        const retry = Math.ceil((caps.scope.attempts[0]! + HOUR_MS - now) / 60_000);
        return {
          rule: caps.attemptsRule,
          message: `at most ${caps.attempts} dial-out calls an hour ${caps.what} (${caps.attemptsRule}); try again in ${retry} min`,
        };
      }
    }
    return undefined;
  }

  /** A call was placed: it counts until finished, and for an hour against the attempt caps. */
  placed(callId: string, room: string, inviter: string): void {
    const now = this.#now();
    this.#calls.set(callId, { room, inviter });
    for (const { scope } of this.#scopes(room, inviter, true)) {
      scope.live.add(callId);
      scope.attempts.push(now);
    }
  }

  finished(callId: string): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    this.#calls.delete(callId);
    for (const { scope } of this.#scopes(call.room, call.inviter, false)) scope.live.delete(callId);
    this.#forgetIdle();
  }

  /** `create`: keep a new room's or inviter's scope (a call is placed); otherwise an unknown one is read as empty. */
  #scopes(room: string, inviter: string, create: boolean): ScopeCaps[] {
    const l = this.#limits;
    const scopeOf = (scopes: Map<string, Scope>, key: string): Scope => {
      let scope = scopes.get(key);
      if (!scope) {
        scope = new Scope();
        if (create) scopes.set(key, scope);
      }
      return scope;
    };
    return [
      {
        scope: scopeOf(this.#rooms, room),
        calls: l.callsPerRoom,
        callsRule: 'DIAL_OUT_MAX_CALLS_PER_ROOM',
        attempts: l.attemptsPerHourPerRoom,
        attemptsRule: 'DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM',
        what: 'per room',
      },
      {
        scope: scopeOf(this.#inviters, inviter),
        calls: l.callsPerInviter,
        callsRule: 'DIAL_OUT_MAX_CALLS_PER_INVITER',
        attempts: l.attemptsPerHourPerInviter,
        attemptsRule: 'DIAL_OUT_ATTEMPTS_PER_HOUR_PER_INVITER',
        what: 'per inviter',
      },
      { scope: this.#all, calls: l.calls, callsRule: 'DIAL_OUT_MAX_CALLS', attempts: l.attemptsPerHour, attemptsRule: 'DIAL_OUT_ATTEMPTS_PER_HOUR', what: 'on this bridge' },
    ];
  }

  /** Scopes with nothing under way and nothing this hour are dropped, so the maps hold only recent rooms and inviters. */
  #forgetIdle(): void {
    const now = this.#now();
    for (const scopes of [this.#rooms, this.#inviters]) {
      for (const [key, scope] of scopes) {
        scope.prune(now);
        if (scope.idle) scopes.delete(key);
      }
    }
  }
}
