// The lobby on a real bridge: a moderator turns it on, joins knock and wait
// without seeing the room, and moderators admit or deny them, each or all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { NotificationData, PeerKind, ResponseData } from '../../protocol/protocol.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { joinRoom, joinToken, signalingUrl, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** A join that may knock: what it was told while it waited, and how it ended. */
async function knock(bridgeUrl: string, room: string, displayName: string, extra: { kind?: PeerKind; password?: string; dialOutCallId?: string } = {}) {
  const client = await SignalingClient.connect(signalingUrl(bridgeUrl));
  const told: string[] = [];
  for (const name of ['waitingInLobby', 'peerJoined', 'chat', 'lobbyChanged', 'knocking'] as const) client.on(name, () => told.push(name));
  const kind = extra.kind ?? 'web';
  const outcome: Promise<ResponseData<'join'>> = client.request('join', {
    room,
    displayName,
    kind,
    password: extra.password,
    dialOutCallId: extra.dialOutCallId,
    secret: kind === 'web' ? undefined : TEST_SERVICE_SECRET,
  });
  outcome.catch(() => {}); // awaited by the test, which may first watch it wait
  return { client, told, outcome };
}

/** Every knock a moderator was shown, and how each ended. */
function watchLobby(moderator: Joined) {
  const knocks: NotificationData<'knocking'>['knock'][] = [];
  const ended: NotificationData<'knockEnded'>[] = [];
  moderator.client.on('knocking', ({ knock }) => knocks.push(knock));
  moderator.client.on('knockEnded', (data) => ended.push(data));
  const knockOf = (name: string) => waitFor(`${name} knocks`, () => knocks.find((k) => k.displayName === name));
  return { knocks, ended, knockOf };
}

describe('the lobby', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', DIAL_OUT_ALLOWED_PREFIXES: '+1555', DIAL_OUT_DEFAULT_COUNTRY: 'US' });
  });
  afterAll(() => bridge?.stop());

  it('holds knocks out of sight of the room until a moderator admits or denies each', async () => {
    const alice = await joinRoom(bridge.url, 'lobby', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'lobby', 'Bob', 'web');
    expect(alice.joined.lobby).toEqual({ enabled: false, knocks: [] });
    const lobby = watchLobby(alice);
    const bobSaw = watchLobby(bob);
    const changes: NotificationData<'lobbyChanged'>[] = [];
    bob.client.on('lobbyChanged', (data) => changes.push(data));

    await expect(bob.client.request('setLobby', { enabled: true })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('turn the lobby on or off') });
    await alice.client.request('setLobby', { enabled: true });
    await waitFor('Bob sees the lobby on', () => changes.some((c) => c.enabled && c.by === 'Alice'));

    const carol = await knock(bridge.url, 'lobby', 'Carol');
    const carolKnock = await lobby.knockOf('Carol');
    expect(carolKnock).toMatchObject({ kind: 'web', id: expect.any(String) });
    expect(carol.told).toEqual(['waitingInLobby']);
    // While Carol waits the room goes on without her seeing it.
    await alice.client.request('chat', { text: 'before Carol' });
    const dave = await joinRoom(bridge.url, 'lobby', 'Dave', 'recorder'); // the bridge's own services do not knock
    dave.client.close();
    await expect(bob.client.request('admit', { knockId: carolKnock.id })).rejects.toMatchObject({ code: 'forbidden' });
    expect(bobSaw.knocks).toEqual([]); // knocks are for moderators' eyes

    expect(await alice.client.request('admit', { knockId: carolKnock.id })).toEqual({ admitted: 1 });
    const joined = await carol.outcome;
    expect(joined.peers.map((p) => p.displayName).sort()).toEqual(['Alice', 'Bob']);
    expect(joined.chat.map((m) => m.text)).toEqual(['before Carol']);
    expect(joined.lobby).toEqual({ enabled: true, knocks: [] }); // not a moderator: whether it is on, not who waits
    expect(carol.told.slice(0, 1)).toEqual(['waitingInLobby']);
    expect(lobby.ended).toContainEqual({ knockId: carolKnock.id, outcome: 'admitted', by: 'Alice' });

    const erin = await knock(bridge.url, 'lobby', 'Erin');
    const erinKnock = await lobby.knockOf('Erin');
    expect(await alice.client.request('deny', { knockId: erinKnock.id })).toEqual({ denied: 1 });
    await expect(erin.outcome).rejects.toMatchObject({ code: 'notAdmitted', message: expect.stringContaining('not admitted') });
    await expect(alice.client.request('deny', { knockId: erinKnock.id })).rejects.toMatchObject({ code: 'notFound' });
    expect(erin.told).toEqual(['waitingInLobby']);

    for (const peer of [alice, bob, carol, erin]) peer.client.close();
  });

  it('phones knock too, unless they answer an invitation; admit all and deny all take everyone waiting', async () => {
    const alice = await joinRoom(bridge.url, 'lobby-all', 'Alice', 'web');
    const lobby = watchLobby(alice);
    await alice.client.request('setLobby', { enabled: true });

    const phone = await knock(bridge.url, 'lobby-all', '+15551230001', { kind: 'phone' });
    const invitedClaim = await knock(bridge.url, 'lobby-all', '+15551230002', { kind: 'phone', dialOutCallId: 'not-an-invitation' });
    const frank = await knock(bridge.url, 'lobby-all', 'Frank');
    expect(await lobby.knockOf('+15551230001')).toMatchObject({ kind: 'phone' });
    await lobby.knockOf('+15551230002');
    await lobby.knockOf('Frank');
    expect(await alice.client.request('admit', {})).toEqual({ admitted: 3 });
    for (const admitted of [phone, invitedClaim, frank]) expect((await admitted.outcome).role).toBe('participant');

    const greta = await knock(bridge.url, 'lobby-all', 'Greta');
    const hank = await knock(bridge.url, 'lobby-all', 'Hank');
    await lobby.knockOf('Greta');
    await lobby.knockOf('Hank');
    expect(await alice.client.request('deny', {})).toEqual({ denied: 2 });
    await expect(greta.outcome).rejects.toMatchObject({ code: 'notAdmitted' });
    await expect(hank.outcome).rejects.toMatchObject({ code: 'notAdmitted' });
    // A phone the moderator invited walks in: the gateway names the invitation it answers.
    const gateway = await SignalingClient.connect(signalingUrl(bridge.url));
    const requested: NotificationData<'dialOutRequested'>[] = [];
    gateway.on('dialOutRequested', (data) => requested.push(data));
    await gateway.request('registerGateway', { name: 'gw', dialOut: true, trunkRegistration: null, secret: TEST_SERVICE_SECRET });
    const { call } = await alice.client.request('dialOut', { number: '5551230003' });
    await waitFor('the gateway asked to call', () => requested.find((r) => r.callId === call.id));
    await gateway.request('reportDialOut', { callId: call.id, state: 'answered' });
    const invited = await knock(bridge.url, 'lobby-all', '5551230003', { kind: 'phone', dialOutCallId: call.id });
    expect((await invited.outcome).role).toBe('participant');
    expect(invited.told).toEqual([]);
    expect(lobby.knocks.map((k) => k.displayName)).not.toContain('5551230003');
    for (const peer of [alice, phone, invitedClaim, frank, greta, hank, invited]) peer.client.close();
    gateway.close();
  });

  it('a moderator by token walks in; a wrong password is refused before anyone is asked; a knock that hangs up is gone', async () => {
    const alice = await joinRoom(bridge.url, 'lobby-locked', 'Alice', 'web');
    const lobby = watchLobby(alice);
    await alice.client.request('setLobby', { enabled: true });
    await alice.client.request('setRoomPassword', { password: '2468' });

    const host = await joinRoom(bridge.url, 'lobby-locked', 'Host', 'web', { token: await joinToken({ room: 'lobby-locked', role: 'moderator' }), password: '2468' });
    expect(host.joined.role).toBe('moderator');

    const wrong = await knock(bridge.url, 'lobby-locked', 'Ivan', { password: '1111' });
    await expect(wrong.outcome).rejects.toMatchObject({ code: 'passwordRequired' });
    expect(wrong.told).toEqual([]);

    const june = await knock(bridge.url, 'lobby-locked', 'June', { password: '2468' });
    const juneKnock = await lobby.knockOf('June');
    june.client.close();
    await waitFor('June gone from the lobby', () => lobby.ended.find((e) => e.knockId === juneKnock.id && e.outcome === 'left'));
    expect(lobby.knocks.map((k) => k.displayName)).toEqual(['June']);
    for (const peer of [alice, host, wrong]) peer.client.close();
  });

  it('shows a new moderator who waits; turning the lobby off lets everyone in; ending the meeting turns the waiting away', async () => {
    const alice = await joinRoom(bridge.url, 'lobby-off', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'lobby-off', 'Bob', 'web');
    const lobby = watchLobby(alice);
    const bobSaw = watchLobby(bob);
    await alice.client.request('setLobby', { enabled: true });

    const kate = await knock(bridge.url, 'lobby-off', 'Kate');
    await lobby.knockOf('Kate');
    await alice.client.request('promote', { peerId: bob.joined.peerId });
    await bobSaw.knockOf('Kate'); // shown on promotion
    await bob.client.request('setLobby', { enabled: false });
    expect((await kate.outcome).peers.map((p) => p.displayName).sort()).toEqual(['Alice', 'Bob']);
    expect(lobby.ended).toContainEqual(expect.objectContaining({ outcome: 'admitted', by: 'Bob' }));

    await alice.client.request('setLobby', { enabled: true });
    const liam = await knock(bridge.url, 'lobby-off', 'Liam');
    await lobby.knockOf('Liam');
    await alice.client.request('endMeeting', {});
    await expect(liam.outcome).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('ended while you waited') });
    expect(bridge.registry.get('lobby-off')).toBeUndefined();
    for (const peer of [alice, bob, kate, liam]) peer.client.close();
  });

  it('a knock nobody answers times out after LOBBY_TIMEOUT_SECONDS', async () => {
    const quick = await startBridge({ MEDIA_WORKERS: '1', LOBBY_TIMEOUT_SECONDS: '1' });
    try {
      const alice = await joinRoom(quick.url, 'lobby-wait', 'Alice', 'web');
      const lobby = watchLobby(alice);
      await alice.client.request('setLobby', { enabled: true });
      const mia = await knock(quick.url, 'lobby-wait', 'Mia');
      await expect(mia.outcome).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('within 1 s') });
      expect(lobby.ended).toEqual([expect.objectContaining({ outcome: 'timedOut', by: null })]);
      alice.client.close();
      mia.client.close();
    } finally {
      await quick.stop();
    }
  });
});
