// Phone callers outlive their room's bridge: two bridges (bridge/main.ts, each
// on a test host of its own) share one real redis-server; the gateway's
// BRIDGE_URL is B, but the room lives on A, which B sent the gateway's joins
// to. Two softphones in the room hear each other's tone; A is lost: killed
// (-9, its whole process group), or drained with no time for its rooms (they
// are closed as 'shuttingDown'). Both calls stay up, the gateway joins the
// room's audio and both callers again, on B, and each caller hears the other
// again. The time from the loss to each hearing the other again is measured in
// what each phone recorded (from where its recording stood at the loss) and
// printed, with when the test saw it. With no bridge left at all, the callers
// are told and hung up once the re-join deadline has passed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJOIN_DEADLINE_MS } from '../../gateway/room/bridgeFailover.ts';
import { rms, toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.23';
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];
const TONES = { alice: 440, bob: 880 } as const;
type Caller = keyof typeof TONES;
/** A caller hears the other in a 100 ms window when the other's tone has this share of it (a prompt may play over it). */
const HEARS = 0.3;
/** Before the loss, each caller hears the other steadily for this long (no prompt over it), so the gap after it is the loss's. */
const STEADY_S = 2;

describe('a room of two callers whose bridge is lost', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-failover-'));
  let fleet: BridgeFleet<BridgeName>;
  let gw: TestGateway;
  let phones = {} as Record<Caller, Baresip>;

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'gfo', subnet: SUBNET, names: BRIDGES });
    // This process is on the test network too (the runner's address), so the gateway here reaches both bridges.
    gw = await startGateway({ url: fleet.httpUrl('b') });
    for (const [caller, frequency] of Object.entries(TONES) as [Caller, number][]) writeToneWav(path.join(dir, `${caller}.wav`), frequency, 300);
  }, 120_000);

  afterAll(async () => {
    for (const phone of Object.values(phones)) await phone.stop().catch(() => {});
    await gw?.gateway.stop();
    await fleet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const callers = Object.keys(TONES) as Caller[];
  const other = (caller: Caller): Caller => (caller === 'alice' ? 'bob' : 'alice');
  /** Whether each 100 ms of what the caller received hears the other, from the call's start. */
  const hearing = (caller: Caller): boolean[] => {
    const { samples, sampleRate } = phones[caller].recentAudio(Infinity);
    return heardWindows(samples, sampleRate, TONES[other(caller)]);
  };

  /**
   * Both callers (new phones: each records one call) in `room`, opened on
   * `home` by a web participant (a deployment places a new room on the bridge
   * asked when it is not busier), hearing each other steadily; alice with her
   * hand raised (*9).
   */
  async function callersInRoom(room: string, home: BridgeName = 'a'): Promise<void> {
    for (const phone of Object.values(phones)) await phone.stop();
    phones = {} as Record<Caller, Baresip>;
    for (const caller of callers) {
      phones[caller] = await Baresip.start({ microphone: path.join(dir, `${caller}.wav`), codecs: caller === 'alice' ? 'PCMU' : 'PCMA', user: caller });
    }
    const opener = await fleet.join(home, room, 'Opener');
    expect(opener.landedOn).toBe(home);
    for (const caller of callers) {
      phones[caller].dial(gw.uri(room));
      await phones[caller].waitForEvent('CALL_ESTABLISHED');
    }
    await waitFor('both callers in the room', () => [...gw.gateway.calls].filter((call) => call.room === room && call.state === 'inRoom').length === 2, 15_000);
    await phones.alice.sendDigits('*9');
    await waitFor('alice to raise her hand', () => opener.notificationsOf('peerUpdated').some(({ peer }) => peer.kind === 'phone' && peer.handRaised), 10_000);
    for (const caller of callers) {
      await waitFor(`${caller} to hear ${other(caller)} steadily`, () => {
        const heard = hearing(caller);
        return heard.length >= STEADY_S * 10 && heard.slice(-STEADY_S * 10).every(Boolean);
      }, 20_000);
    }
    expect(await fleet.homeOf(room)).toBe(home);
    // A port pair per call toward its phone, and one for the room toward its bridge, shared by both calls.
    expect(gw.gateway.ports.inUse).toBe(3);
  }

  /**
   * Loses A by `loseA`, waits for both calls to be participants again (new
   * ones), then for each caller to hear the other over the new legs (from
   * 300 ms after that on: nothing of the old path is left in the phone's
   * buffers). Measured in what each phone recorded (from where its recording
   * stood at the loss): when the other's tone went and came back; a gap
   * shorter than a 100 ms window shows as none. Both calls stayed up, both
   * callers are participants on B, alice's hand still raised, and the room
   * was joined again once.
   */
  async function backAfter(room: string, what: string, loseA: () => Promise<void>): Promise<void> {
    const inRoom = () => [...gw.gateway.calls].filter((call) => call.room === room);
    const peersBefore = new Set(inRoom().map((call) => call.peerId));
    const atLoss = { alice: hearing('alice').length, bob: hearing('bob').length };
    const lostAt = Date.now();
    await loseA();
    await waitFor('both calls to be participants again', () => inRoom().filter((call) => call.peerId && !peersBefore.has(call.peerId)).length === 2, REJOIN_DEADLINE_MS + 5000);
    const rejoinedAfterMs = Date.now() - lostAt;
    const atRejoined = { alice: hearing('alice').length, bob: hearing('bob').length };
    const recorded = {} as Record<Caller, { silentFromMs?: number; backAtMs: number }>;
    await Promise.all(
      callers.map(async (caller) => {
        try {
          recorded[caller] = await waitFor(`${caller} to hear ${other(caller)} again after ${what}`, () => afterTheLoss(hearing(caller), atLoss[caller], atRejoined[caller]), 10_000);
        } catch (error) {
          const since = hearing(caller).slice(Math.max(0, atLoss[caller] - 5)).map((heard) => (heard ? '+' : '.')).join('');
          throw new Error(`${(error as Error).message} (${other(caller)} heard by 100 ms from 0.5 s before: ${since})`, { cause: error });
        }
      }),
    );
    console.log(`after ${what}: both callers participants again (seen by the test) after ${rejoinedAfterMs} ms; in what each phone recorded (ms after it, by 100 ms windows) the other's tone went at, came back at:`, recorded);
    for (const caller of callers) expect(recorded[caller].backAtMs).toBeLessThan(REJOIN_DEADLINE_MS);

    for (const caller of callers) expect(phones[caller].events.map((e) => e.type), `${caller}'s call stays up`).not.toContain('CALL_CLOSED');
    expect(await fleet.homeOf(room)).toBe('b');
    const observer = await fleet.join('b', room, 'Observer');
    expect(observer.landedOn).toBe('b');
    const participants = observer.joined.peers.filter((peer) => peer.kind === 'phone');
    expect(participants, 'both callers are participants on B').toHaveLength(2);
    expect(participants.map((peer) => peer.handRaised).sort(), "alice's hand is still raised, bob's not").toEqual([false, true]);
    // The room joined again once for both calls, and the lost bridge's pair was let go.
    expect(gw.gateway.ports.inUse).toBe(3);
    observer.client.close();
    for (const caller of callers) phones[caller].hangup();
    for (const caller of callers) await phones[caller].waitForEvent('CALL_CLOSED');
    await waitFor('every port pair let go', () => gw.gateway.ports.inUse === 0);
  }

  it('killed (-9): both calls stay up, join again on the surviving bridge, and the callers hear each other again', async () => {
    await callersInRoom('killed');
    // The whole process group (its media workers too), with no chance to say goodbye.
    await backAfter('killed', "kill -9 of the room's bridge", async () => {
      process.kill(-fleet.bridges.a.pid, 'SIGKILL');
    });
  }, 120_000);

  it("drained at once (the bridge says 'shuttingDown' and goes): the calls move to the other bridge", async () => {
    if (fleet.bridges.a.exited) {
      fleet.startBridge('a');
      await fleet.bridges.a.waitForLog('bridge ready', 60_000);
    }
    await callersInRoom('drained');
    await backAfter('drained', "the room's bridge drained with no time for its rooms", async () => {
      const drained = await operatorFetch(`${fleet.httpUrl('a')}/api/bridge/drain`, { method: 'POST', body: JSON.stringify({ timeoutSeconds: 0 }), headers: { 'content-type': 'application/json' } });
      expect(drained.status).toBe(202);
    });
  }, 120_000);

  it('with no bridge left, the callers are told and hung up once the re-join deadline has passed', async () => {
    await callersInRoom('abandoned', 'b');
    const ended = new Map<string, { reason: string; afterMs: number }>();
    for (const call of gw.gateway.calls) call.once('ended', (reason) => ended.set(call.id, { reason, afterMs: Date.now() - lostAt }));
    const atLoss = { alice: phones.alice.recentAudio(Infinity).samples.length, bob: phones.bob.recentAudio(Infinity).samples.length };
    const lostAt = Date.now();
    for (const name of BRIDGES) if (!fleet.bridges[name].exited) process.kill(-fleet.bridges[name].pid, 'SIGKILL');
    for (const caller of callers) await phones[caller].waitForEvent('CALL_CLOSED', REJOIN_DEADLINE_MS + 15_000);
    const closedAfterMs = Date.now() - lostAt;
    console.log('with every bridge killed, the calls ended after (ms):', [...ended.values()], 'the phones saw BYE by', closedAfterMs);
    expect([...ended.values()].map((end) => end.reason)).toEqual(['lost the connection to the meeting', 'lost the connection to the meeting']);
    // Not before the deadline; after it, the goodbye ('connectionLost', about 4 s) and the BYE.
    for (const end of ended.values()) expect(end.afterMs).toBeGreaterThanOrEqual(REJOIN_DEADLINE_MS);
    expect(closedAfterMs).toBeLessThan(REJOIN_DEADLINE_MS + 10_000);
    await waitFor('every port pair let go', () => gw.gateway.ports.inUse === 0);
    // What they heard meanwhile: 'reconnecting' at once, then silence, then 'connectionLost' before the BYE.
    for (const caller of callers) {
      const { samples, sampleRate } = phones[caller].recentAudio(Infinity);
      const stretch = (fromS: number, toS: number) => samples.subarray(atLoss[caller] + fromS * sampleRate, atLoss[caller] + toS * sampleRate);
      const level = { reconnecting: rms(stretch(0.3, 2.5)), waiting: rms(stretch(6, REJOIN_DEADLINE_MS / 1000 - 1)), goodbye: rms(samples.subarray(-3 * sampleRate)) };
      console.log(`${caller} heard after the loss (RMS):`, level);
      expect(level.reconnecting, `${caller} is told we are reconnecting`).toBeGreaterThan(300);
      expect(level.waiting, `${caller} hears nothing while we try`).toBeLessThan(100);
      expect(level.goodbye, `${caller} is told the connection could not be restored`).toBeGreaterThan(300);
    }
  }, 120_000);
});

/** Whether `frequency` is heard in each 100 ms window of `samples`. */
function heardWindows(samples: Int16Array, sampleRate: number, frequency: number): boolean[] {
  const size = Math.round(sampleRate / 10);
  const heard: boolean[] = [];
  for (let at = 0; at + size <= samples.length; at += size) heard.push(toneShare(samples.subarray(at, at + size), sampleRate, frequency) > HEARS);
  return heard;
}

/**
 * In a recording's windows (`heard`): once the other is heard over the new
 * legs (held 300 ms, from 300 ms after window `atRejoined` on), where its
 * tone went after the loss (window `atLoss`) and came back, held 300 ms (a
 * prompt spoken over it may hide it for a window), in ms after the loss; no
 * window without it: back at 0. Undefined until heard over the new legs.
 */
function afterTheLoss(heard: boolean[], atLoss: number, atRejoined: number): { silentFromMs?: number; backAtMs: number } | undefined {
  const held = (i: number) => heard[i] && heard[i + 1] && heard[i + 2];
  const confirmed = heard.findIndex((_, i) => i >= atRejoined + 3 && held(i));
  if (confirmed < 0) return undefined;
  // A window or two before: what the phone had received by the loss may not all be written yet.
  const silent = heard.indexOf(false, Math.max(0, atLoss - 2));
  if (silent < 0 || silent > confirmed) return { backAtMs: 0 };
  const back = heard.findIndex((_, i) => i > silent && held(i));
  return { silentFromMs: (silent - atLoss) * 100, backAtMs: (back - atLoss) * 100 };
}
