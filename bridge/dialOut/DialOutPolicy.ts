// Whether a phone call may be placed, and what placed calls have used: the
// number rules, the caps on calls at once and per hour, and the daily minutes.
// Clock injected: pure apart from time.
import { DialOutBudget } from './DialOutBudget.ts';
import { DialOutCaps, type DialOutLimits } from './DialOutCaps.ts';
import { NumberRules, type NumberRulesConfig } from './NumberRules.ts';

export interface DialOutPolicyConfig {
  numbers: NumberRulesConfig;
  limits: DialOutLimits;
  /** Answered minutes per UTC day, all rooms together. */
  dailyMinutes: number;
}

export type Admission = { admitted: true; e164: string } | { admitted: false; rule: string; message: string; e164?: string };

/** The setting whose budget ends calls and refuses new ones. */
export const BUDGET_RULE = 'DIAL_OUT_DAILY_MINUTES';

export class DialOutPolicy {
  readonly numbers: NumberRules;
  readonly caps: DialOutCaps;
  readonly budget: DialOutBudget;

  constructor(config: DialOutPolicyConfig, now: () => number = Date.now) {
    this.numbers = new NumberRules(config.numbers);
    this.caps = new DialOutCaps(config.limits, now);
    this.budget = new DialOutBudget(config.dailyMinutes, now);
  }

  /** The number first (a refused one says why whatever the load), then the budget and the caps. */
  admit(room: string, inviterId: string, number: string): Admission {
    const verdict = this.numbers.check(number);
    if (!verdict.allowed) return { admitted: false, rule: verdict.rule, message: verdict.message, e164: verdict.e164 };
    const refusal = this.budget.spent
      ? { rule: BUDGET_RULE, message: `today's ${this.budget.dailyMinutes} dial-out minutes are used up (${BUDGET_RULE}); they renew at 00:00 UTC` }
      : this.caps.refusal(room, inviterId);
    if (refusal) return { admitted: false, ...refusal, e164: verdict.e164 };
    return { admitted: true, e164: verdict.e164 };
  }

  placed(callId: string, room: string, inviterId: string): void {
    this.caps.placed(callId, room, inviterId);
  }

  answered(callId: string): void {
    this.budget.answered(callId);
  }

  /** The call is over; returns its talk time in seconds. */
  finished(callId: string): number {
    this.caps.finished(callId);
    return this.budget.finished(callId);
  }
}
