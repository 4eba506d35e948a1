// The dial-out policy against a real bridge, gateway and sipp trunk: refused
// numbers never reach the trunk and the refusal names its rule; the caps on
// calls at once and per hour hold; the daily minutes end a live call; the
// operator's audit lists every attempt, and /metrics counts them.
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { DialOutAttempt } from '../../bridge/dialOut/DialOutAudit.ts';
import type { DialOutCall } from '../../protocol/protocol.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { loadPrompts } from '../../gateway/media/prompts.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { type SippProcess, startSippTrunk } from '../helpers/sipp.ts';
import { expectAck, expectBye, expectInvite, playAudio, respond, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const ALLOWED = '+15550100199';
const RING_UNTIL_CANCELLED = path.join(import.meta.dirname, 'scenarios', 'uas-ring-cancel.xml');

describe('dial-out policy', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let trunkPort: number;
  const hosts: Joined[] = [];
  const updates: DialOutCall[] = [];
  const trunks: SippProcess[] = [];

  /** sipp as the trunk (stopped after each test, should it still wait for a call). */
  const trunk = async (scenario: string, options?: Parameters<typeof startSippTrunk>[2]) => {
    const sipp = await startSippTrunk(trunkPort, scenario, options);
    trunks.push(sipp);
    return sipp;
  };

  /** A moderator of a fresh room (the first in an open room), following its invitations. */
  const host = async (room: string, name: string): Promise<Joined> => {
    const joined = await joinRoom(bridge.url, room, name, 'web');
    joined.client.on('dialOutUpdated', ({ call }) => updates.push(call));
    hosts.push(joined);
    return joined;
  };
  const restDialOut = async (room: string, number: string) => {
    const response = await operatorFetch(`${bridge.url}/api/rooms/${room}/dial-out`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number }),
    });
    return { status: response.status, body: (await response.json()) as { call?: DialOutCall; error?: string } };
  };
  const stateOf = (id: string, state: DialOutCall['state']) => () => updates.find((u) => u.id === id && u.state === state);

  beforeAll(async () => {
    bridge = await startBridge({
      DIAL_OUT_ALLOWED_PREFIXES: '+1555',
      DIAL_OUT_DENIED_PREFIXES: '+1 555 0100 9',
      DIAL_OUT_DEFAULT_COUNTRY: 'US',
      DIAL_OUT_MAX_CALLS_PER_INVITER: '2',
      DIAL_OUT_MAX_CALLS_PER_ROOM: '3',
      DIAL_OUT_MAX_CALLS: '4',
      DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM: '3',
      DIAL_OUT_DAILY_MINUTES: '0.2', // 12 s: a budget in tenths of a minute keeps the wait short
    });
    trunkPort = await freePort();
    // The budget's call outlasts the callee's few seconds of recorded audio: no hang-up for silence first.
    gw = await startGateway(bridge, {
      SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort}`,
      SIP_CALLER_ID: '15550100',
      DIAL_OUT_RING_SECONDS: '30',
      RTP_TIMEOUT_SECONDS: '120',
    });
    await waitFor('the gateway offered for dial-out', () => bridge.dialOuts.available);
  });

  afterEach(async () => {
    await Promise.all(trunks.splice(0).map((sipp) => sipp.stop()));
  });

  afterAll(async () => {
    for (const joined of hosts) joined.client.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  it('refuses denied, unlisted, premium and network numbers, and participants, before the trunk: it sees only the allowed call', async () => {
    // The trunk takes one call, and fails it unless it is for the allowed number: a refused number reaching it would fail the run.
    const sipp = await trunk(writeScenario('policy-busy', [expectInvite(`sip:${ALLOWED}@`), respond(486, 'Busy Here'), expectAck]));
    const alice = await host('refusals', 'Alice');
    const refusal = (number: string) => alice.client.request('dialOut', { number }).then(() => 'placed', (error: { code: string; message: string }) => `${error.code}: ${error.message}`);
    expect(await refusal('+1 555 0100 901')).toBe('forbidden: dialOut: +15550100901 is refused: +155501009 is in DIAL_OUT_DENIED_PREFIXES [rule: DIAL_OUT_DENIED_PREFIXES]');
    expect(await refusal('+44 20 7946 0000')).toBe('forbidden: dialOut: +442079460000 is refused: it matches no prefix in DIAL_OUT_ALLOWED_PREFIXES [rule: DIAL_OUT_ALLOWED_PREFIXES]');
    expect(await refusal('1 900 555 0100')).toBe('forbidden: dialOut: +19005550100 is refused: a premium-rate number [rule: premium numbers]');
    expect(await refusal('+881 6 3123 4567')).toMatch(/^forbidden: dialOut: \+881631234567 is refused: \+881 is Global Mobile Satellite System.*\[rule: built-in deny list\]$/);
    expect(await restDialOut('refusals', '+882 1234 5678')).toEqual({ status: 403, body: { error: expect.stringContaining('[rule: built-in deny list]') } });
    const guest = await joinRoom(bridge.url, 'refusals', 'Guest', 'web');
    hosts.push(guest);
    await expect(guest.client.request('dialOut', { number: ALLOWED })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('only moderators may') });

    const { call } = await alice.client.request('dialOut', { number: '555 010 0199' });
    expect(call.number).toBe(ALLOWED);
    await waitFor('busy', stateOf(call.id, 'busy'), 10_000);
    const result = await sipp.done;
    expect(result.code).toBe(0);
    expect(result.successful).toBe(1);
  });

  it('holds the caps on calls at once per inviter, per room and overall, and per hour per room', async () => {
    const sipp = await trunk(RING_UNTIL_CANCELLED, { calls: 4 });
    const alice = await host('caps-a', 'Alice');
    const bea = await host('caps-b', 'Bea');
    const ringing: DialOutCall[] = [];
    const place = async (joined: Joined, number: string) => {
      const { call } = await joined.client.request('dialOut', { number });
      ringing.push(call);
    };
    await place(alice, '+15550100201');
    await place(alice, '+15550100202');
    await expect(alice.client.request('dialOut', { number: '+15550100203' })).rejects.toMatchObject({
      code: 'forbidden',
      message: 'dialOut: at most 2 dial-out calls at once per inviter (DIAL_OUT_MAX_CALLS_PER_INVITER) [rule: DIAL_OUT_MAX_CALLS_PER_INVITER]',
    });
    const operatorCall = await restDialOut('caps-a', '+15550100204');
    expect(operatorCall.status).toBe(202);
    ringing.push(operatorCall.body.call!);
    expect(await restDialOut('caps-a', '+15550100205')).toEqual({ status: 403, body: { error: expect.stringContaining('[rule: DIAL_OUT_MAX_CALLS_PER_ROOM]') } });
    await place(bea, '+15550100206');
    await expect(bea.client.request('dialOut', { number: '+15550100207' })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('[rule: DIAL_OUT_MAX_CALLS]') });

    // All four ring at the trunk; hung up, they free their places but still count for the hour.
    for (const call of ringing) await waitFor(`${call.number} ringing`, () => bridge.dialOuts.audit.list().find((a) => a.id === call.id && a.outcome === 'ringing'));
    await alice.client.request('cancelDialOut', { callId: ringing[0]!.id });
    await alice.client.request('cancelDialOut', { callId: ringing[1]!.id });
    await alice.client.request('cancelDialOut', { callId: ringing[2]!.id });
    await bea.client.request('cancelDialOut', { callId: ringing[3]!.id });
    await waitFor('all cancelled', () => ringing.every((call) => updates.some((u) => u.id === call.id && u.state === 'cancelled')));
    expect((await sipp.done).code).toBe(0);
    await expect(alice.client.request('dialOut', { number: '+15550100208' })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/^dialOut: at most 3 dial-out calls an hour per room .*\[rule: DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM\]$/),
    });
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('ends a live call when the day’s minutes run out, and refuses new calls until midnight UTC', async () => {
    const sipp = await trunk(
      writeScenario('policy-budget', [expectInvite(`sip:${ALLOWED}@`), respond(200, 'OK'), expectAck, playAudio, expectBye(40_000)]),
      { timeoutSeconds: 50 },
    );
    const carol = await host('budget', 'Carol');
    const { call } = await carol.client.request('dialOut', { number: ALLOWED });
    const answered = await waitFor('answered', stateOf(call.id, 'answered'), 15_000);
    const answeredAt = Date.now();
    const room = bridge.registry.get('budget')!;
    await waitFor('the callee heard in the room', async () => {
      const producer = [...(room.getPeer(answered.peerId!)?.producers.values() ?? [])][0];
      return (await producer?.getStats())?.some((s) => s.packetCount > 50) ?? false;
    });
    // The callee is told before the BYE: the prompt is played out, then the call ends.
    const phoneCall = [...gw.gateway.calls].find((c) => c.peerId === answered.peerId)!;
    const said: { prompt: string; at: number }[] = [];
    const say = phoneCall.say.bind(phoneCall);
    phoneCall.say = (prompt) => (said.push({ prompt, at: Date.now() }), say(prompt));
    const callEnded = new Promise<number>((resolve) => phoneCall.once('ended', () => resolve(Date.now())));
    const ended = await waitFor('ended by the budget', stateOf(call.id, 'ended'), 30_000);
    const talked = (Date.now() - answeredAt) / 1000;
    expect(talked).toBeGreaterThan(10);
    expect(talked).toBeLessThan(20);
    expect(ended.reason).toBe("today's 0.2 dial-out minutes are used up (DIAL_OUT_DAILY_MINUTES)");
    const announced = said.find((s) => s.prompt === 'callTimeUp');
    expect(announced, `prompts said: ${said.map((s) => s.prompt).join(', ')}`).toBeDefined();
    const promptMs = (loadPrompts(loadGatewayConfig({}).promptsDir).callTimeUp.length / 8000) * 1000;
    expect((await callEnded) - announced!.at).toBeGreaterThanOrEqual(promptMs - 100);
    expect((await sipp.done).code).toBe(0); // the trunk got the BYE
    await expect(carol.client.request('dialOut', { number: ALLOWED })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('[rule: DIAL_OUT_DAILY_MINUTES]') });
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  }, 60_000);

  it('lists every attempt for the operator, and counts them in /metrics', async () => {
    const response = await operatorFetch(`${bridge.url}/api/dial-outs`);
    expect(response.status).toBe(200);
    const { attempts } = (await response.json()) as { attempts: DialOutAttempt[] };
    const summary = attempts.reverse().map((a) => `${a.room} ${a.inviter.name} ${a.number} ${a.outcome}${a.rule ? ` ${a.rule}` : ''}`);
    expect(summary).toEqual([
      'refusals Alice +15550100901 refused DIAL_OUT_DENIED_PREFIXES',
      'refusals Alice +442079460000 refused DIAL_OUT_ALLOWED_PREFIXES',
      'refusals Alice +19005550100 refused premium numbers',
      'refusals Alice +881631234567 refused built-in deny list',
      'refusals the operator +88212345678 refused built-in deny list',
      'refusals Alice +15550100199 busy',
      'caps-a Alice +15550100201 cancelled',
      'caps-a Alice +15550100202 cancelled',
      'caps-a Alice +15550100203 refused DIAL_OUT_MAX_CALLS_PER_INVITER',
      'caps-a the operator +15550100204 cancelled',
      'caps-a the operator +15550100205 refused DIAL_OUT_MAX_CALLS_PER_ROOM',
      'caps-b Bea +15550100206 cancelled',
      'caps-b Bea +15550100207 refused DIAL_OUT_MAX_CALLS',
      'caps-a Alice +15550100208 refused DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM',
      'budget Carol +15550100199 ended',
      'budget Carol +15550100199 refused DIAL_OUT_DAILY_MINUTES',
    ]);
    const budgetCall = attempts.find((a) => a.room === 'budget' && a.outcome === 'ended')!;
    expect(budgetCall.seconds).toBeGreaterThanOrEqual(11);
    // The 12 s, and the "call time is up" announcement before the BYE.
    expect(budgetCall.seconds).toBeLessThanOrEqual(17);
    expect(attempts.filter((a) => a.outcome === 'cancelled' || a.outcome === 'busy').every((a) => a.seconds === 0)).toBe(true);

    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toContain('bridge_dial_out_attempts_total{outcome="refused"} 10');
    expect(metrics).toContain('bridge_dial_out_attempts_total{outcome="placed"} 6');
    expect(metrics).toContain('bridge_dial_out_refusals_total{rule="built-in deny list"} 2');
    expect(metrics).toContain('bridge_dial_out_calls_total{state="cancelled"} 4');
    expect(metrics).toMatch(new RegExp(`bridge_dial_out_seconds_total ${budgetCall.seconds}\\n`));
  });
});
