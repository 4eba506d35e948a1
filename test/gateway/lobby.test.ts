// Phone callers in a room's lobby (issue 14, item 4): a caller who dials a
// room whose moderator turned the lobby on is asked for the PIN (issue 15:
// a lobby room's URI does not skip it), then knocks, and hears "Please wait,
// the host will let you in." and hold music until the moderator decides.
// Admitted, the caller joins and is heard; denied, hears "You were not
// admitted." and is hung up; hanging up while waiting leaves the lobby; still
// waiting when the meeting ends, hears "Nobody let you in." and is hung up. A
// callee answering a dial-out invitation skips the lobby. And a caller of an
// end-to-end encrypted meeting is told phones cannot join it, and hung up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { Call } from '../../gateway/calls/Call.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { HOLD_MUSIC } from '../../gateway/media/HoldMusic.ts';
import { loadPrompts, type Prompts } from '../../gateway/media/prompts.ts';
import type { DialOutCall, Knock, NotificationData } from '../../protocol/protocol.ts';
import { bestMatch, rms, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { startListeningSipp, startSipp } from '../helpers/sipp.ts';
import { bye, expectAck, expectBye, expectInvite, infoDigit, invite, pause, playAudio, respond, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'waiting-room';
const NUMBER = '+15550100177';

/** The hold music, with its start repeated after its end: any stretch of the loop is in it. */
const LOOPED_MUSIC = Int16Array.from([...HOLD_MUSIC, ...HOLD_MUSIC.subarray(0, 8000)]);

/**
 * Whether the phone hears the hold music right now (its last quarter second is a stretch of it):
 * 1.000 while the music plays, at most ~0.35 over the spoken prompt or silence.
 */
function hearsHoldMusic(phone: Baresip): boolean {
  const { samples } = phone.recentAudio(0.25);
  return samples.length === 2000 && bestMatch(LOOPED_MUSIC, samples) > 0.95;
}

/** Whether a prompt is in what the phone received (its middle half second, found anywhere). */
function heardPrompt(received: ArrayLike<number>, prompt: Int16Array): number {
  const middle = Math.floor(prompt.length / 2);
  return bestMatch(received, prompt.subarray(middle - 2000, middle + 2000));
}

describe('phone callers in a lobby', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let prompts: Prompts;
  let host: Joined;
  let trunkPort: number;
  const knocks: Knock[] = [];
  const knockEnds: NotificationData<'knockEnded'>[] = [];
  const dialOuts: DialOutCall[] = [];
  const phones: Baresip[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lobby-'));

  const phone = async (name: string, frequency: number): Promise<Baresip> => {
    writeToneWav(path.join(dir, `${name}.wav`), frequency, 120);
    const started = await Baresip.start({ microphone: path.join(dir, `${name}.wav`), codecs: 'PCMU' });
    phones.push(started);
    return started;
  };
  /** Dials the room by name: with its lobby on, the gateway asks for the PIN first (issue 15), then the caller knocks. */
  const dialWithPin = async (caller: Baresip) => {
    caller.dial(gw.uri(ROOM));
    await caller.waitForEvent('CALL_ESTABLISHED');
    await caller.sendDigits(`${bridge.registry.get(ROOM)!.pin}#`);
  };
  /** The gateway's call that is not yet in the room (the one knocking). */
  const waitingCall = () => waitFor('the call at the gateway', () => [...gw.gateway.calls].find((c: Call) => c.state === 'inLobby'), 10_000);
  const phonesInRoom = () => (bridge.registry.get(ROOM)?.visiblePeers() ?? []).filter((p) => p.kind === 'phone');
  const knockOf = (displayName: string, after = 0) =>
    waitFor(`${displayName} knocking`, () => knocks.slice(after).find((k) => k.displayName === displayName && k.kind === 'phone'), 15_000);

  beforeAll(async () => {
    bridge = await startBridge({ DIAL_OUT_ALLOWED_PREFIXES: '+1555' });
    trunkPort = await freePort();
    gw = await startGateway(bridge, { SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort}`, SIP_CALLER_ID: '15550100', DIAL_OUT_RING_SECONDS: '5' });
    prompts = loadPrompts(loadGatewayConfig({ BRIDGE_URL: bridge.url }).promptsDir);
    // Open mode: the first web peer in the room is its moderator.
    host = await joinRoom(bridge.url, ROOM, 'Host', 'web');
    expect(host.joined.role).toBe('moderator');
    host.client.on('knocking', ({ knock }) => knocks.push(knock));
    host.client.on('knockEnded', (ended) => knockEnds.push(ended));
    host.client.on('dialOutUpdated', ({ call }) => dialOuts.push(call));
    await host.client.request('setLobby', { enabled: true });
    await waitFor('the gateway offered for dial-out', () => bridge.dialOuts.available);
  });

  afterAll(async () => {
    for (const p of phones) await p.stop();
    host?.client.close();
    await gw?.gateway.stop();
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('puts a knocking caller on hold with the prompt and music, then lets them in on admit, heard by the room', async () => {
    const caller = await phone('admitted', 440);
    await dialWithPin(caller);
    const knock = await knockOf('caller');
    expect(phonesInRoom()).toHaveLength(0);
    const call = await waitingCall();

    // The prompt first, then the music: both are in what the phone received.
    await waitFor('the caller hearing the hold music', () => hearsHoldMusic(caller), 15_000, 500);
    const { samples: heard } = caller.recentAudio(30);
    expect(heardPrompt(heard, prompts.waitingInLobby), 'the waiting prompt heard').toBeGreaterThan(0.95);
    // Keys pressed while waiting change nothing: still on hold, and *6 did not mute the caller-to-be.
    await caller.sendDigits('*6');
    await waitFor('the caller still hearing the hold music', () => hearsHoldMusic(caller), 5000, 500);
    expect(call.state).toBe('inLobby');

    await expect(host.client.request('admit', { knockId: knock.id })).resolves.toEqual({ admitted: 1 });
    // Listed from its join's answer on; in the room for the gateway once its voice is published.
    await waitFor('the caller in the room', () => phonesInRoom().length === 1 && call.state === 'inRoom');
    expect(knockEnds).toContainEqual(expect.objectContaining({ knockId: knock.id, outcome: 'admitted' }));

    // The music stops: the room has no other voice, so the phone hears silence.
    await waitFor('the hold music stopped', () => rms(caller.recentAudio(0.5).samples) < 50, 5000, 200);
    // The caller's tone reaches the room: packets on its producer, and it becomes the active speaker.
    const peerId = phonesInRoom()[0]!.id;
    await waitFor('the caller heard as the active speaker', () => host.notificationsOf('activeSpeaker').some((n) => n.peerId === peerId), 10_000);
    const producer = [...bridge.registry.get(ROOM)!.peers].find((p) => p.id === peerId)!.producers.values().next().value!;
    await waitFor('a second of the caller\'s voice in the room', async () => (await producer.getStats()).reduce((sum, s) => sum + s.packetCount, 0) >= 50);
    expect(producer.paused).toBe(false);
  });

  it('tells a denied caller "You were not admitted." and hangs up', async () => {
    const caller = await phone('denied', 880);
    const before = knocks.length;
    await dialWithPin(caller);
    const knock = await knockOf('caller', before);
    const call = await waitingCall();
    const ended = new Promise<string>((resolve) => call.once('ended', resolve));
    await waitFor('the caller hearing the hold music', () => hearsHoldMusic(caller), 15_000, 500);

    await expect(host.client.request('deny', { knockId: knock.id })).resolves.toEqual({ denied: 1 });
    expect(await ended).toBe('not admitted from the lobby');
    // We never hung up this phone: the BYE came from the gateway.
    await caller.waitForEvent('CALL_CLOSED');
    expect(knockEnds).toContainEqual(expect.objectContaining({ knockId: knock.id, outcome: 'denied' }));
    expect(phonesInRoom()).toHaveLength(1); // only the admitted caller
    const { samples } = caller.recentAudio(6);
    expect(heardPrompt(samples, prompts.notAdmitted), 'the not-admitted prompt heard before the BYE').toBeGreaterThan(0.95);
  });

  it('drops the knock of a caller who hangs up while waiting', async () => {
    const before = knocks.length;
    const pinDigits = [...bridge.registry.get(ROOM)!.pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const call = startSipp({
      scenario: writeScenario('lobby-leaves', [invite(), ...pinDigits, playAudio, pause(3000), bye(2 + pinDigits.length)]),
      remote: `127.0.0.1:${gw.sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 20,
      args: ['-s', ROOM, '-mp', String(await freePort())],
    });
    const knock = await knockOf('caller (+15551230123)', before);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('the knock gone', () => knockEnds.find((e) => e.knockId === knock.id));
    expect(knockEnds.find((e) => e.knockId === knock.id)?.outcome).toBe('left');
    expect(phonesInRoom()).toHaveLength(1);
  });

  it('lets a callee answering a dial-out invitation straight in, without knocking', async () => {
    const before = knocks.length;
    const callee = await startListeningSipp({
      scenario: writeScenario('lobby-dial-out', [
        expectInvite(`sip:${NUMBER}@127.0.0.1`),
        respond(200, 'OK'),
        expectAck,
        playAudio,
        expectBye(20_000),
      ]),
      localPort: trunkPort,
      calls: 1,
      timeoutSeconds: 30,
      args: ['-mp', String(await freePort())],
    });
    const { call } = await host.client.request('dialOut', { number: NUMBER });
    await waitFor('the callee in the room', () => dialOuts.find((c) => c.id === call.id && c.state === 'answered'), 15_000);
    expect(phonesInRoom()).toHaveLength(2);
    expect(knocks.slice(before)).toEqual([]);
    await host.client.request('cancelDialOut', { callId: call.id });
    const result = await callee.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('tells a caller still waiting when the meeting ends that nobody let them in, and hangs up', async () => {
    const caller = await phone('stranded', 660);
    const before = knocks.length;
    await dialWithPin(caller);
    await knockOf('caller', before);
    const call = await waitingCall();
    const ended = new Promise<string>((resolve) => call.once('ended', resolve));
    await waitFor('the caller hearing the hold music', () => hearsHoldMusic(caller), 15_000, 500);

    await host.client.request('endMeeting', {});
    expect(await ended).toMatch(/^not let in from the lobby \(.*ended while you waited/);
    await caller.waitForEvent('CALL_CLOSED');
    const { samples } = caller.recentAudio(6);
    expect(heardPrompt(samples, prompts.notLetIn), 'the nobody-let-you-in prompt heard before the BYE').toBeGreaterThan(0.95);
  });

  it('tells a caller of an end-to-end encrypted meeting that phones cannot join, and hangs up (issue 16)', async () => {
    const sealed = await joinRoom(bridge.url, 'sealed', 'Keeper', 'web', { e2eeCapable: true });
    try {
      await sealed.client.request('setE2ee', { enabled: true });
      const caller = await phone('sealed-out', 990);
      caller.dial(gw.uri('sealed'));
      await caller.waitForEvent('CALL_ESTABLISHED');
      const call = await waitFor('the call at the gateway', () => [...gw.gateway.calls].find((c: Call) => c.room === undefined || c.room === 'sealed'), 10_000);
      const ended = new Promise<string>((resolve) => call.once('ended', resolve));
      expect(await ended).toBe('the meeting is end-to-end encrypted');
      await caller.waitForEvent('CALL_CLOSED');
      const { samples } = caller.recentAudio(8);
      expect(heardPrompt(samples, prompts.encryptedMeeting), 'the encrypted-meeting prompt heard before the BYE').toBeGreaterThan(0.95);
      expect(bridge.registry.get('sealed')!.visiblePeers().map((p) => p.kind)).toEqual(['web']);
    } finally {
      sealed.client.close();
    }
  });
});
