import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { DialOutCall, NotificationName } from '../../protocol/protocol.ts';
import { DialOutAudit } from '../../bridge/dialOut/DialOutAudit.ts';
import { DialOutPolicy, type DialOutPolicyConfig } from '../../bridge/dialOut/DialOutPolicy.ts';
import { DialOuts, type GatewayLink } from '../../bridge/dialOut/DialOuts.ts';
import type { Room } from '../../bridge/rooms/Room.ts';

/** As much of a room as its phone invitations touch, recording what it was told. */
class FakeRoom extends EventEmitter<{ closed: [] }> {
  readonly name = 'board';
  closed = false;
  readonly moderation = {
    password: '1234' as string | null,
    // As bridge/rooms/EndToEnd.ts refuses: only while a moderator keeps E2EE on.
    e2ee: {
      enabled: false,
      refuse(what: string): void {
        if (this.enabled) throw Object.assign(new Error(`This meeting is end-to-end encrypted: ${what} is not possible`), { code: 'encrypted' });
      },
    },
  };
  readonly told: DialOutCall[] = [];

  broadcast(name: NotificationName, data: { call: DialOutCall }): void {
    if (name === 'dialOutUpdated') this.told.push(data.call);
  }

  close(): void {
    this.closed = true;
    this.emit('closed');
  }
}

const ALICE = { id: 'peer-alice', displayName: 'Alice' };
/** Room for everything these tests place; the caps have tests of their own. */
const ROOMY: DialOutPolicyConfig = {
  numbers: { defaultCountry: undefined, allowedPrefixes: ['+1555'], deniedPrefixes: [] },
  limits: { callsPerRoom: 100, callsPerInviter: 100, calls: 100, attemptsPerHourPerRoom: 100, attemptsPerHourPerInviter: 100, attemptsPerHour: 100 },
  dailyMinutes: 60,
};

function setUp(policy: DialOutPolicyConfig = ROOMY) {
  const logger = createLogger('silent', 'test');
  const audit = new DialOutAudit(logger);
  const dialOuts = new DialOuts(logger, new DialOutPolicy(policy), audit);
  const sent: { name: string; data: unknown }[] = [];
  const gateway: GatewayLink = {
    channel: { notify: (name, data) => sent.push({ name, data }), send: () => {}, disconnect: () => {}, iceServers: () => undefined },
    name: 'gw',
    dialOut: true,
    trunkRegistration: null,
    active: new Set(),
  };
  dialOuts.addGateway(gateway);
  const fake = new FakeRoom();
  return { dialOuts, audit, gateway, sent, fake, room: fake as unknown as Room };
}

describe('phone invitations', () => {
  it('asks a gateway to call, with the room password, and shows each state to the room', () => {
    const { dialOuts, gateway, sent, fake, room } = setUp();
    const call = dialOuts.start(room, ALICE, '+15550100199');
    expect(sent).toEqual([{ name: 'dialOutRequested', data: { callId: call.id, room: 'board', number: '+15550100199', password: '1234' } }]);
    dialOuts.report(gateway, { callId: call.id, state: 'answered', peerId: 'phone-peer' });
    dialOuts.report(gateway, { callId: call.id, state: 'ended', reason: 'hung up' });
    expect(fake.told.map((c) => c.state)).toEqual(['calling', 'answered', 'ended']);
    expect(dialOuts.list(room)).toEqual([{ ...call, state: 'ended', reason: 'hung up', peerId: 'phone-peer' }]);
    expect(gateway.active.size).toBe(0);
    expect(() => dialOuts.cancel(room, call.id)).toThrow(expect.objectContaining({ code: 'notFound' }));
  });

  it('lists those under way and the latest 20 finished, most recently changed last', () => {
    const { dialOuts, gateway, room } = setUp();
    const ongoing = dialOuts.start(room, ALICE, '+15550100199');
    const finished = Array.from({ length: 22 }, (_, i) => {
      const call = dialOuts.start(room, ALICE, `+155502001${String(i).padStart(2, '0')}`);
      dialOuts.report(gateway, { callId: call.id, state: 'busy' });
      return call.id;
    });
    dialOuts.report(gateway, { callId: ongoing.id, state: 'ringing' });
    expect(dialOuts.list(room).map((c) => c.id)).toEqual([...finished.slice(2), ongoing.id]);
  });

  it('fails what a departing gateway was calling', () => {
    const { dialOuts, gateway, room } = setUp();
    const call = dialOuts.start(room, ALICE, '+15550100199');
    dialOuts.removeGateway(gateway);
    expect(dialOuts.list(room)).toMatchObject([{ id: call.id, state: 'failed', reason: 'the SIP gateway disconnected' }]);
    expect(dialOuts.available).toBe(false);
    expect(() => dialOuts.start(room, ALICE, '+15550100199')).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });

  it('stops ringing into a closed room and forgets its list', () => {
    const { dialOuts, gateway, sent, fake, room } = setUp();
    const call = dialOuts.start(room, ALICE, '+15550100199');
    fake.close();
    expect(sent.at(-1)).toEqual({ name: 'dialOutCancelled', data: { callId: call.id, reason: 'roomClosed' } });
    dialOuts.report(gateway, { callId: call.id, state: 'cancelled' });
    expect(dialOuts.list(room)).toEqual([]);
    expect(fake.told.map((c) => c.state)).toEqual(['calling']);
    expect(() => dialOuts.start(room, ALICE, '+15550100199')).toThrow(expect.objectContaining({ code: 'notFound' }));
  });
});

describe('phone invitations under the dial-out policy', () => {
  it('refuses (and audits) an invitation while the meeting is end-to-end encrypted, before any gateway hears of it', () => {
    const { dialOuts, audit, sent, fake, room } = setUp();
    fake.moderation.e2ee.enabled = true;
    expect(() => dialOuts.start(room, ALICE, '+15550100199')).toThrow(expect.objectContaining({ code: 'encrypted' }));
    expect(sent).toEqual([]);
    expect(audit.list().map(({ outcome, rule }) => ({ outcome, rule }))).toEqual([{ outcome: 'refused', rule: 'E2EE' }]);
    fake.moderation.e2ee.enabled = false;
    expect(dialOuts.start(room, ALICE, '+15550100199').state).toBe('calling');
  });

  it('never tells a gateway about a refused number, names the rule, and audits every attempt', () => {
    const { dialOuts, audit, gateway, sent, room } = setUp();
    expect(() => dialOuts.start(room, ALICE, '+881631234567')).toThrow(expect.objectContaining({ code: 'forbidden', message: expect.stringContaining('[rule: built-in deny list]') }));
    expect(() => dialOuts.start(room, ALICE, '+442079460000')).toThrow(expect.objectContaining({ code: 'forbidden', message: expect.stringContaining('[rule: DIAL_OUT_ALLOWED_PREFIXES]') }));
    expect(sent).toEqual([]);
    expect(dialOuts.list(room)).toEqual([]);
    const call = dialOuts.start(room, ALICE, '+1 555 010 0199');
    dialOuts.report(gateway, { callId: call.id, state: 'busy', reason: '486 Busy Here' });
    expect(audit.list().map(({ number, outcome, rule, inviter }) => ({ number, outcome, rule, inviter }))).toEqual([
      { number: '+15550100199', outcome: 'busy', rule: undefined, inviter: { id: 'peer-alice', name: 'Alice' } },
      { number: '+442079460000', outcome: 'refused', rule: 'DIAL_OUT_ALLOWED_PREFIXES', inviter: { id: 'peer-alice', name: 'Alice' } },
      { number: '+881631234567', outcome: 'refused', rule: 'built-in deny list', inviter: { id: 'peer-alice', name: 'Alice' } },
    ]);
    expect(audit.totals).toMatchObject({
      attempts: new Map([['refused', 2], ['placed', 1]]),
      refusals: new Map([['built-in deny list', 1], ['DIAL_OUT_ALLOWED_PREFIXES', 1]]),
      calls: new Map([['busy', 1]]),
    });
  });

  it('ends every call under way through its gateway when the day’s minutes run out, and refuses new ones', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 27, 12) });
    try {
      const { dialOuts, audit, gateway, sent, room } = setUp({ ...ROOMY, dailyMinutes: 2 });
      const first = dialOuts.start(room, ALICE, '+15550100101');
      const second = dialOuts.start(room, ALICE, '+15550100102');
      dialOuts.report(gateway, { callId: first.id, state: 'answered' });
      vi.advanceTimersByTime(30_000);
      dialOuts.report(gateway, { callId: second.id, state: 'answered' });
      // 90 s left, two calls sharing them: 45 s more.
      vi.advanceTimersByTime(44_000);
      expect(sent.filter((s) => s.name === 'dialOutCancelled')).toEqual([]);
      vi.advanceTimersByTime(1_000);
      expect(sent.filter((s) => s.name === 'dialOutCancelled').map((s) => s.data)).toEqual([{ callId: first.id, reason: 'budgetSpent' }, { callId: second.id, reason: 'budgetSpent' }]);
      dialOuts.report(gateway, { callId: first.id, state: 'ended', reason: 'hung up by the inviter' });
      dialOuts.report(gateway, { callId: second.id, state: 'ended', reason: 'hung up by the inviter' });
      expect(dialOuts.list(room).map((c) => c.reason)).toEqual([
        "today's 2 dial-out minutes are used up (DIAL_OUT_DAILY_MINUTES)",
        "today's 2 dial-out minutes are used up (DIAL_OUT_DAILY_MINUTES)",
      ]);
      expect(audit.list().map((a) => a.seconds)).toEqual([45, 75]);
      expect(() => dialOuts.start(room, ALICE, '+15550100103')).toThrow(expect.objectContaining({ code: 'forbidden', message: expect.stringContaining('DIAL_OUT_DAILY_MINUTES') }));
    } finally {
      vi.useRealTimers();
    }
  });
});
