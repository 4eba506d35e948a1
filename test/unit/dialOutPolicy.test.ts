// The dial-out policy's parts, each rule against the numbers it is for: the
// number rules, the caps on calls at once and per hour, the daily minutes,
// and the settings that configure them.
import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { DialOutAudit } from '../../bridge/dialOut/DialOutAudit.ts';
import { DialOutBudget } from '../../bridge/dialOut/DialOutBudget.ts';
import { DialOutCaps, type DialOutLimits } from '../../bridge/dialOut/DialOutCaps.ts';
import { DialOutPolicy } from '../../bridge/dialOut/DialOutPolicy.ts';
import { NumberRules, parsePrefix } from '../../bridge/dialOut/NumberRules.ts';
import { createLogger } from '../../common/logger.ts';

const rules = new NumberRules({ defaultCountry: 'GB', allowedPrefixes: ['+44', '+1', '+881'], deniedPrefixes: ['+4420'] });
const ruleOf = (number: string) => {
  const verdict = rules.check(number);
  return verdict.allowed ? `allowed ${verdict.e164}` : verdict.rule;
};

describe('number rules', () => {
  it('reads numbers as E.164, national ones in DIAL_OUT_DEFAULT_COUNTRY', () => {
    expect(ruleOf('+1 (555) 010-0199')).toBe('allowed +15550100199');
    expect(ruleOf('0161 496 0000')).toBe('allowed +441614960000');
    expect(ruleOf('call me')).toBe('number format');
    expect(new NumberRules({ defaultCountry: undefined, allowedPrefixes: ['+44'], deniedPrefixes: [] }).check('0161 496 0000')).toMatchObject({
      allowed: false,
      rule: 'number format',
      message: expect.stringContaining('international form'),
    });
  });

  it('refuses everything while DIAL_OUT_ALLOWED_PREFIXES is unset, saying so', () => {
    expect(new NumberRules({ defaultCountry: undefined, allowedPrefixes: [], deniedPrefixes: [] }).check('+15550100199')).toEqual({
      allowed: false,
      rule: 'DIAL_OUT_ALLOWED_PREFIXES',
      message: 'dial-out is off: DIAL_OUT_ALLOWED_PREFIXES is not set',
    });
  });

  it('refuses numbers outside the allowed prefixes', () => {
    expect(ruleOf('+4930123456')).toBe('DIAL_OUT_ALLOWED_PREFIXES');
  });

  it('refuses the denied prefixes inside allowed ones', () => {
    expect(ruleOf('+44 20 7946 0000')).toBe('DIAL_OUT_DENIED_PREFIXES');
  });

  it('refuses the built-in network codes even where an allowed prefix covers them', () => {
    for (const number of ['+881631234567', '+8082345678', '+97912345678', '+882 1234 5678', '+883 1234 5678', '+870 77 123 4567']) {
      expect(ruleOf(number), number).toBe('built-in deny list');
    }
  });

  it('refuses premium-rate, shared-cost and personal numbers in allowed countries', () => {
    expect(ruleOf('+1 900 555 0100')).toBe('premium numbers');
    expect(ruleOf('+44 909 879 0000')).toBe('premium numbers');
    expect(ruleOf('+44 70 1123 4567')).toBe('premium numbers');
    expect(ruleOf('+44 845 464 0000')).toBe('premium numbers');
  });

  it('refuses numbers of impossible length', () => {
    expect(ruleOf('+1555010')).toBe('number format');
  });
});

describe('dial-out prefixes in the settings', () => {
  it('take prefixes that start with a country calling code, and nothing broader', () => {
    expect(parsePrefix('+1 212')).toBe('+1212');
    expect(parsePrefix('+353')).toBe('+353');
    expect(() => parsePrefix('44')).toThrow('not a prefix');
    expect(() => parsePrefix('+')).toThrow('not a prefix');
    expect(() => parsePrefix('+4')).toThrow('country calling code');
  });

  it('stop startup naming the setting', () => {
    expect(() => loadBridgeConfig({ DIAL_OUT_ALLOWED_PREFIXES: '+44,+4' })).toThrow(/DIAL_OUT_ALLOWED_PREFIXES: \+4 does not start with a country calling code/);
    expect(() => loadBridgeConfig({ DIAL_OUT_ALLOWED_PREFIXES: '+44,+881' })).toThrow(/DIAL_OUT_ALLOWED_PREFIXES: \+881 is .*built-in deny list/);
    expect(() => loadBridgeConfig({ DIAL_OUT_DENIED_PREFIXES: 'premium' })).toThrow(/DIAL_OUT_DENIED_PREFIXES: "premium" is not a prefix/);
    expect(() => loadBridgeConfig({ DIAL_OUT_DEFAULT_COUNTRY: 'XX' })).toThrow(/DIAL_OUT_DEFAULT_COUNTRY: expected a two-letter country code/);
    expect(() => loadBridgeConfig({ DIAL_OUT_DAILY_MINUTES: '0' })).toThrow(/DIAL_OUT_DAILY_MINUTES/);
    expect(loadBridgeConfig({ DIAL_OUT_ALLOWED_PREFIXES: '+44, +1 212', DIAL_OUT_DEFAULT_COUNTRY: 'gb' }).dialOut).toMatchObject({
      numbers: { defaultCountry: 'GB', allowedPrefixes: ['+44', '+1212'], deniedPrefixes: [] },
      limits: { callsPerRoom: 5, callsPerInviter: 3, calls: 20, attemptsPerHourPerRoom: 30, attemptsPerHourPerInviter: 20, attemptsPerHour: 200 },
      dailyMinutes: 600,
    });
  });
});

const LIMITS: DialOutLimits = { callsPerRoom: 2, callsPerInviter: 1, calls: 3, attemptsPerHourPerRoom: 4, attemptsPerHourPerInviter: 3, attemptsPerHour: 5 };

describe('dial-out caps', () => {
  it('hold calls at once per inviter, per room and overall', () => {
    const caps = new DialOutCaps(LIMITS, () => 0);
    caps.placed('a1', 'room-a', 'alice');
    expect(caps.refusal('room-a', 'alice')?.rule).toBe('DIAL_OUT_MAX_CALLS_PER_INVITER');
    caps.placed('a2', 'room-a', 'bob');
    expect(caps.refusal('room-a', 'carol')?.rule).toBe('DIAL_OUT_MAX_CALLS_PER_ROOM');
    caps.placed('b1', 'room-b', 'carol');
    expect(caps.refusal('room-c', 'dave')?.rule).toBe('DIAL_OUT_MAX_CALLS');
    caps.finished('a1');
    expect(caps.refusal('room-a', 'alice')).toBeUndefined();
  });

  it('hold calls per hour, in a sliding window', () => {
    let now = 0;
    const caps = new DialOutCaps(LIMITS, () => now);
    const place = (id: string, room: string, inviter: string) => {
      caps.placed(id, room, inviter);
      caps.finished(id);
      now += 60_000;
    };
    for (const id of ['1', '2', '3']) place(id, 'room-a', 'alice');
    expect(caps.refusal('room-a', 'alice')).toMatchObject({ rule: 'DIAL_OUT_ATTEMPTS_PER_HOUR_PER_INVITER', message: expect.stringContaining('try again in 57 min') });
    place('4', 'room-a', 'bob');
    expect(caps.refusal('room-a', 'carol')?.rule).toBe('DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM');
    place('5', 'room-b', 'carol');
    expect(caps.refusal('room-c', 'dave')?.rule).toBe('DIAL_OUT_ATTEMPTS_PER_HOUR');
    now = 3_600_001; // the first call is an hour old: one place frees up, the others stay taken
    expect(caps.refusal('room-c', 'dave')).toBeUndefined();
    caps.placed('6', 'room-c', 'alice');
    caps.finished('6');
    expect(caps.refusal('room-c', 'alice')?.rule).toBe('DIAL_OUT_ATTEMPTS_PER_HOUR_PER_INVITER');
  });
});

describe('daily dial-out minutes', () => {
  const NOON = Date.UTC(2026, 10, 27, 12);

  it('count answered time, shared by the calls under way, and renew at midnight UTC', () => {
    let now = NOON;
    const budget = new DialOutBudget(10, () => now);
    expect(budget.msUntilSpent).toBeUndefined();
    budget.answered('a');
    budget.answered('b');
    expect(budget.msUntilSpent).toBe(300_000);
    now += 120_000;
    expect(budget.finished('a')).toBe(120);
    expect(budget.usedMinutes).toBe(4);
    expect(budget.msUntilSpent).toBe(360_000);
    now += 360_000;
    expect(budget.spent).toBe(true);
    expect(budget.finished('b')).toBe(480);
    now = Date.UTC(2026, 10, 28, 0, 0, 1);
    expect(budget.spent).toBe(false);
    expect(budget.usedMinutes).toBe(0);
  });

  it('refuse new calls once spent, naming DIAL_OUT_DAILY_MINUTES', () => {
    let now = NOON;
    const policy = new DialOutPolicy({ numbers: { defaultCountry: undefined, allowedPrefixes: ['+1555'], deniedPrefixes: [] }, limits: { ...LIMITS, calls: 9 }, dailyMinutes: 1 }, () => now);
    expect(policy.admit('room', 'alice', '+15550100199')).toEqual({ admitted: true, e164: '+15550100199' });
    policy.placed('c', 'room', 'alice');
    policy.answered('c');
    now += 60_000;
    expect(policy.finished('c')).toBe(60);
    expect(policy.admit('room', 'alice', '+15550100199')).toMatchObject({ admitted: false, rule: 'DIAL_OUT_DAILY_MINUTES' });
    // The number is judged first: a refused one says why whatever the budget.
    expect(policy.admit('room', 'alice', '+881631234567')).toMatchObject({ admitted: false, rule: 'built-in deny list' });
  });
});

describe('dial-out audit', () => {
  it('keeps the newest attempts for the listing, and totals since start for /metrics', () => {
    const audit = new DialOutAudit(createLogger('silent', 'test'), 2);
    const attempt = (id: string) => ({ id, at: 0, room: 'room', inviter: { id: 'operator', name: 'the operator' }, number: '+15550100199' });
    audit.refused({ ...attempt('1'), outcome: 'refused', rule: 'DIAL_OUT_ALLOWED_PREFIXES' });
    audit.placed(attempt('2'));
    audit.updated('2', 'answered', undefined);
    audit.placed(attempt('3'));
    audit.updated('2', 'ended', 'hung up', 42);
    expect(audit.list().map((a) => [a.id, a.outcome, a.seconds])).toEqual([
      ['3', 'calling', 0],
      ['2', 'ended', 42],
    ]);
    expect(audit.totals).toEqual({
      attempts: new Map([['refused', 1], ['placed', 2]]),
      refusals: new Map([['DIAL_OUT_ALLOWED_PREFIXES', 1]]),
      calls: new Map([['ended', 1]]),
      seconds: 42,
    });
  });
});
