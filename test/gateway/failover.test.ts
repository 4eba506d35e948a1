// Phone callers outlive their room's bridge: two bridges (bridge/main.ts, each
// on a test host of its own) share one real redis-server; the gateway's
// BRIDGE_URL is B, but the room lives on A, which B sent the gateway's joins
// to. Two softphones in the room hear each other's tone; A is killed (-9, its
// whole process group); both calls stay up, the gateway joins the room's
// audio and both callers again (B takes the room over), and each caller hears
// the other again. The time from the kill to each hearing the other again is
// measured in what each phone recorded (from where its recording stood at the
// kill) and printed, with when the test saw it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REJOIN_DEADLINE_MS } from '../../gateway/room/bridgeFailover.ts';
import { toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.23';
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];
const ROOM = 'phone-failover';
const TONES = { alice: 440, bob: 880 } as const;
type Caller = keyof typeof TONES;
/** A caller hears the other in a 100 ms window when the other's tone has this share of it (a prompt may play over it). */
const HEARS = 0.3;
/** Before the kill, each caller hears the other steadily for this long (no prompt over it), so the gap after it is the kill's. */
const STEADY_S = 2;

describe('a room of two callers whose bridge is killed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-failover-'));
  let fleet: BridgeFleet<BridgeName>;
  let gw: TestGateway;
  const phones = {} as Record<Caller, Baresip>;

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'gfo', subnet: SUBNET, names: BRIDGES });
    // This process is on the test network too (the runner's address), so the gateway here reaches both bridges.
    gw = await startGateway({ url: fleet.httpUrl('b') });
    for (const [caller, frequency] of Object.entries(TONES) as [Caller, number][]) {
      writeToneWav(path.join(dir, `${caller}.wav`), frequency, 300);
      phones[caller] = await Baresip.start({ microphone: path.join(dir, `${caller}.wav`), codecs: caller === 'alice' ? 'PCMU' : 'PCMA', user: caller });
    }
  }, 120_000);

  afterAll(async () => {
    for (const phone of Object.values(phones)) await phone.stop().catch(() => {});
    await gw?.gateway.stop();
    await fleet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const other = (caller: Caller): Caller => (caller === 'alice' ? 'bob' : 'alice');
  /** Whether each 100 ms of what the caller received hears the other, from the call's start. */
  const hearing = (caller: Caller): boolean[] => {
    const { samples, sampleRate } = phones[caller].recentAudio(Infinity);
    return heardWindows(samples, sampleRate, TONES[other(caller)]);
  };

  it('keeps both calls up, joins them again on the surviving bridge, and they hear each other again', async () => {
    // An empty deployment places a new room on the bridge asked: A.
    const opener = await fleet.join('a', ROOM, 'Opener');
    expect(opener.landedOn).toBe('a');
    for (const caller of Object.keys(TONES) as Caller[]) {
      phones[caller].dial(gw.uri(ROOM));
      await phones[caller].waitForEvent('CALL_ESTABLISHED');
    }
    await waitFor('both callers in the room', () => [...gw.gateway.calls].filter((call) => call.state === 'inRoom').length === 2, 15_000);
    // Alice raises her hand (*9): she is to have it raised after the move too.
    await phones.alice.sendDigits('*9');
    await waitFor('alice to raise her hand', () => opener.notificationsOf('peerUpdated').some(({ peer }) => peer.kind === 'phone' && peer.handRaised), 10_000);
    for (const caller of Object.keys(TONES) as Caller[]) {
      await waitFor(`${caller} to hear ${other(caller)} steadily before the kill`, () => {
        const heard = hearing(caller);
        return heard.length >= STEADY_S * 10 && heard.slice(-STEADY_S * 10).every(Boolean);
      }, 20_000);
    }
    expect(await fleet.homeOf(ROOM)).toBe('a');
    // A port pair per call toward its phone, and one for the room toward its bridge, shared by both calls.
    expect(gw.gateway.ports.inUse).toBe(3);

    // Where each recording stands at the kill (in 100 ms windows): what comes after, the phone heard after it.
    const atKill = { alice: hearing('alice').length, bob: hearing('bob').length };
    const killedAt = Date.now();
    // The whole process group (its media workers too), with no chance to say goodbye.
    process.kill(-fleet.bridges.a.pid, 'SIGKILL');
    const seenAfterMs = {} as Record<Caller, number>;
    const recorded = {} as Record<Caller, { silentFromMs: number; backAtMs: number }>;
    await Promise.all(
      (Object.keys(TONES) as Caller[]).map(async (caller) => {
        recorded[caller] = await waitFor(`${caller} to hear ${other(caller)} again after the kill`, () => afterTheKill(hearing(caller), atKill[caller]), REJOIN_DEADLINE_MS + 5000);
        seenAfterMs[caller] = Date.now() - killedAt;
      }),
    );

    for (const caller of Object.keys(TONES) as Caller[]) expect(phones[caller].events.map((e) => e.type), `${caller}'s call stays up`).not.toContain('CALL_CLOSED');
    expect(await fleet.homeOf(ROOM)).toBe('b');
    const observer = await fleet.join('b', ROOM, 'Observer');
    expect(observer.landedOn).toBe('b');
    const callers = observer.joined.peers.filter((peer) => peer.kind === 'phone');
    expect(callers, 'both callers are participants on B').toHaveLength(2);
    expect(callers.map((peer) => peer.handRaised).sort(), "alice's hand is still raised, bob's not").toEqual([false, true]);
    // The room joined again once for both calls, and the dead bridge's pair was let go.
    expect(gw.gateway.ports.inUse).toBe(3);

    for (const caller of Object.keys(TONES) as Caller[]) phones[caller].hangup();
    for (const caller of Object.keys(TONES) as Caller[]) await phones[caller].waitForEvent('CALL_CLOSED');
    console.log("after kill -9 of the room's bridge, in what each phone recorded (ms after the kill, by 100 ms windows): the other's tone gone from, back at:", recorded);
    console.log('... seen by the test (polling the recordings) at, ms after the kill:', seenAfterMs);
    for (const caller of Object.keys(TONES) as Caller[]) expect(recorded[caller].backAtMs).toBeLessThan(REJOIN_DEADLINE_MS);
  }, 180_000);
});

/** Whether `frequency` is heard in each 100 ms window of `samples`. */
function heardWindows(samples: Int16Array, sampleRate: number, frequency: number): boolean[] {
  const size = Math.round(sampleRate / 10);
  const heard: boolean[] = [];
  for (let at = 0; at + size <= samples.length; at += size) heard.push(toneShare(samples.subarray(at, at + size), sampleRate, frequency) > HEARS);
  return heard;
}

/**
 * In a recording's windows (`heard`), where the other's tone went after the
 * kill (the recording stood at window `atKill` then) and where it was heard
 * again, held 300 ms (a prompt spoken over it may hide it for a window): ms
 * after the kill. Undefined until it is back.
 */
function afterTheKill(heard: boolean[], atKill: number): { silentFromMs: number; backAtMs: number } | undefined {
  // A window or two before: what the phone had received by the kill may not all be written yet.
  const silent = heard.indexOf(false, Math.max(0, atKill - 2));
  if (silent < 0) return undefined;
  const back = heard.findIndex((h, i) => i > silent && h && heard[i + 1] && heard[i + 2]);
  return back < 0 ? undefined : { silentFromMs: (silent - atKill) * 100, backAtMs: (back - atKill) * 100 };
}
