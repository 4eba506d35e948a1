// Who may skip the PIN (issue 15, item 2), with real sipp callers. Only a
// trusted trunk (SIP_TRUNK_SOURCES, here 127.0.0.1/32) routes by X-Room or a
// DID; a caller from 127.0.0.2 (allowed in by SIP_ALLOWED_SOURCES, not a
// trunk) sending the same gets the PIN prompt. A room's URI follows the
// room's rules: in a token-mode bridge the caller is asked for the PIN and
// then knocks until a moderator admits it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { Call } from '../../gateway/calls/Call.ts';
import type { CallState } from '../../gateway/calls/callStates.ts';
import type { Knock } from '../../protocol/protocol.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { joinRoom, joinToken, type Joined } from '../helpers/signaling.ts';
import { startSipp } from '../helpers/sipp.ts';
import { bye, expectBye, infoDigit, invite, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'board';
const DID = '15550142';
const TRUNK = '127.0.0.1';
const NOT_TRUNK = '127.0.0.2';

/** The INVITE step with an X-Room header. */
const withRoomHeader = (step: string, room: string) => step.replace('Max-Forwards: 70', `Max-Forwards: 70\n      X-Room: ${room}`);

/** A call's path through the gateway: the states it passed and why it ended. */
interface CallPath {
  states: CallState[];
  ended: Promise<string>;
}

/** The next call the gateway answers, followed from its first state. */
async function nextCall(gw: TestGateway): Promise<CallPath> {
  // Polled without a pause: a call ended at once lives only a few milliseconds.
  const call: Call = await waitFor('a call at the gateway', () => [...gw.gateway.calls][0], 10_000, 0);
  const states: CallState[] = [call.state];
  call.on('stateChanged', (state) => states.push(state));
  return { states, ended: new Promise((resolve) => call.once('ended', resolve)) };
}

describe('who may skip the PIN', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let host: Joined;

  beforeAll(async () => {
    bridge = await startBridge();
    gw = await startGateway(bridge, {
      SIP_TRUNK_SOURCES: `${TRUNK}/32`,
      SIP_ALLOWED_SOURCES: '127.0.0.0/8',
      SIP_DID_ROOMS: `${DID}=${ROOM}`,
      IVR_DIGIT_TIMEOUT_SECONDS: '1',
      IVR_MAX_ATTEMPTS: '1',
    });
    // Someone must be in the room for its PIN to exist.
    host = await joinRoom(bridge.url, ROOM, 'Host', 'web');
  });

  afterAll(async () => {
    host?.client.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  const phonesInRoom = () => (bridge.registry.get(ROOM)?.visiblePeers() ?? []).filter((p) => p.kind === 'phone');
  const phonesEverJoined = () => host.notificationsOf('peerJoined').filter(({ peer }) => peer.kind === 'phone').length;

  const sipp = async (name: string, steps: string[], from: string, service: string) =>
    startSipp({
      scenario: writeScenario(name, steps),
      remote: `127.0.0.1:${gw.sipPort}`,
      localIp: from,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', service, '-mp', String(await freePort())],
    });

  it.each([
    { how: 'an X-Room header', service: '15550100', roomHeader: ROOM },
    { how: 'a DID mapped to the room', service: DID, roomHeader: undefined },
  ])('sends a caller from a non-trunk source using $how to the PIN prompt, never into the room', async ({ service, roomHeader }) => {
    const joinedBefore = phonesEverJoined();
    const first = roomHeader ? withRoomHeader(invite(), roomHeader) : invite();
    const call = await sipp(`untrusted-${service}`, [first, playAudio, expectBye(15_000)], NOT_TRUNK, service);
    const path = await nextCall(gw);
    // Silent at the prompt (one attempt): the PIN prompt's own ending.
    expect(await path.ended).toBe('no valid PIN entered');
    expect(path.states).toEqual(['ivr', 'ended']);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    expect(phonesEverJoined()).toBe(joinedBefore);
  });

  it('lets the same caller in with the PIN: it was sent to the prompt, not turned away', async () => {
    const pin = bridge.registry.get(ROOM)!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const call = await sipp('untrusted-pin', [withRoomHeader(invite(), ROOM), ...digits, playAudio, pause(3000), bye(2 + digits.length)], NOT_TRUNK, DID);
    const path = await nextCall(gw);
    await waitFor('the caller in the room', () => phonesInRoom().length === 1 && path.states.includes('inRoom'), 15_000);
    expect(path.states).toEqual(['ivr', 'joining', 'inRoom']);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('the caller gone', () => phonesInRoom().length === 0);
  });

  it.each([
    { how: 'an X-Room header', service: '15550100', roomHeader: ROOM },
    { how: 'a DID mapped to the room', service: DID, roomHeader: undefined },
  ])('puts a caller from a trunk using $how straight into the room', async ({ service, roomHeader }) => {
    const first = roomHeader ? withRoomHeader(invite(), roomHeader) : invite();
    const call = await sipp(`trunk-${service}`, [first, playAudio, pause(3000), bye(2)], TRUNK, service);
    const path = await nextCall(gw);
    // No digits sent: only skipping the PIN gets it in.
    await waitFor('the caller in the room', () => phonesInRoom().length === 1 && path.states.includes('inRoom'), 15_000);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('the caller gone', () => phonesInRoom().length === 0);
  });

  it("asks a caller dialling a room by name for the PIN while the room's lobby is on (straight in once it is off)", async () => {
    await host.client.request('setLobby', { enabled: true });
    const call = await sipp('uri-lobby', [invite(), playAudio, expectBye(15_000)], TRUNK, ROOM);
    const path = await nextCall(gw);
    expect(await path.ended).toBe('no valid PIN entered');
    expect(path.states).toEqual(['ivr', 'ended']);
    expect((await call.done).code).toBe(0);

    await host.client.request('setLobby', { enabled: false });
    const open = await sipp('uri-open', [invite(), playAudio, pause(3000), bye(2)], NOT_TRUNK, ROOM);
    const openPath = await nextCall(gw);
    await waitFor('the caller in the room', () => phonesInRoom().length === 1 && openPath.states.includes('inRoom'), 15_000);
    expect((await open.done).code).toBe(0);
    await waitFor('the caller gone', () => phonesInRoom().length === 0);
  });
});

describe('a room URI in a token-mode bridge', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let host: Joined;
  const knocks: Knock[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ AUTH_MODE: 'token' });
    gw = await startGateway(bridge, { IVR_DIGIT_TIMEOUT_SECONDS: '1', IVR_MAX_ATTEMPTS: '1' });
    host = await joinRoom(bridge.url, ROOM, 'Host', 'web', { token: await joinToken({ room: ROOM, role: 'moderator' }) });
    expect(host.joined.role).toBe('moderator');
    host.client.on('knocking', ({ knock }) => knocks.push(knock));
  });

  afterAll(async () => {
    host?.client.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  const uriCall = async (name: string, steps: string[]) =>
    startSipp({
      scenario: writeScenario(name, steps),
      remote: `127.0.0.1:${gw.sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', ROOM, '-mp', String(await freePort())],
    });

  it('never lets a caller dialling the room by name (even from a trunk) in without the PIN', async () => {
    const call = await uriCall('uri-token-silent', [invite(), playAudio, expectBye(15_000)]);
    const path = await nextCall(gw);
    expect(await path.ended).toBe('no valid PIN entered');
    expect(path.states).toEqual(['ivr', 'ended']);
    expect((await call.done).code).toBe(0);
    expect(knocks).toEqual([]);
  });

  it('makes the caller knock after the PIN until a moderator admits it', async () => {
    const room = bridge.registry.get(ROOM)!;
    const phones = () => room.visiblePeers().filter((p) => p.kind === 'phone');
    const digits = [...room.pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const call = await uriCall('uri-token', [invite(), ...digits, playAudio, pause(12_000), bye(2 + digits.length)]);
    const path = await nextCall(gw);
    const knock = await waitFor('the caller knocking', () => knocks.find((k) => k.kind === 'phone'), 15_000);
    expect(path.states).toEqual(['ivr', 'joining', 'inLobby']);
    expect(phones()).toHaveLength(0);
    await expect(host.client.request('admit', { knockId: knock.id })).resolves.toEqual({ admitted: 1 });
    await waitFor('the caller in the room', () => phones().length === 1 && path.states.includes('inRoom'), 10_000);
    expect(path.states).toEqual(['ivr', 'joining', 'inLobby', 'inRoom']);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });
});
