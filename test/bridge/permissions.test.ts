// Who may enter a room and who may do what in it, against real bridges: the
// permission matrix of the signaling actions (each cell's outcome expected),
// join tokens by AUTH_MODE, moderators in open rooms, the service secret,
// and the password guesser's handful of tries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { RequestData, RequestMethod } from '../../protocol/protocol.ts';
import { ACCESS_RULES } from '../../protocol/accessRules.ts';
import { SignalingClient, SignalingError } from '../../protocol/SignalingClient.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { joinRoom, joinToken, signalingUrl, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** The outcome of one request: allowed (whatever the action then made of it), or refused and why. */
async function outcome(request: Promise<unknown>): Promise<string> {
  try {
    await request;
    return 'allowed';
  } catch (error) {
    if (!(error instanceof SignalingError)) throw error;
    // Refused by the access rules (not by the action itself, such as a stream destination refused).
    if (error.code === 'forbidden' && /(only moderators may|your join token does not grant)/.test(error.message)) return 'forbidden';
    return 'allowed';
  }
}

/** A fresh connection's join, refused or not. */
async function tryJoin(bridge: Bridge, data: RequestData<'join'>): Promise<{ code: string; message: string }> {
  const client = await SignalingClient.connect(signalingUrl(bridge.url));
  try {
    await client.request('join', data);
    return { code: 'joined', message: '' };
  } catch (error) {
    return { code: (error as SignalingError).code, message: (error as Error).message };
  } finally {
    client.close();
  }
}

type Actor = 'participant' | 'moderator without the grant' | 'moderator with it';
const ACTORS: Actor[] = ['participant', 'moderator without the grant', 'moderator with it'];
const NO_GRANTS = { publish: false, record: false, stream: false, dialOut: false };

/** Each action, taken on a room with a target participant in it. */
const ACTIONS: Record<string, { method: RequestMethod; data: (targetId: string) => object; expected: Record<Actor, 'allowed' | 'forbidden'> }> = {
  'mute someone': { method: 'muteParticipant', data: (peerId) => ({ peerId }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'mute everyone': { method: 'muteAll', data: () => ({}), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  remove: { method: 'removeParticipant', data: (peerId) => ({ peerId }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  lock: { method: 'setRoomPassword', data: () => ({ password: '2468' }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  unlock: { method: 'setRoomPassword', data: () => ({ password: null }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'lobby on': { method: 'setLobby', data: () => ({ enabled: true }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'lobby off': { method: 'setLobby', data: () => ({ enabled: false }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'admit from the lobby': { method: 'admit', data: () => ({}), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'deny from the lobby': { method: 'deny', data: () => ({}), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  promote: { method: 'promote', data: (peerId) => ({ peerId }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  // Turning it on is refused while anyone who cannot hold keys is in (test/bridge/e2ee.test.ts); off is always the moderators'.
  'E2EE off': { method: 'setE2ee', data: () => ({ enabled: false }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'end the meeting': { method: 'endMeeting', data: () => ({}), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  record: { method: 'startRecording', data: () => ({ file: true }), expected: { participant: 'forbidden', 'moderator without the grant': 'forbidden', 'moderator with it': 'allowed' } },
  stream: {
    method: 'startRecording',
    data: () => ({ file: false, streams: ['rtmp://live.example.com/app/key'] }),
    expected: { participant: 'forbidden', 'moderator without the grant': 'forbidden', 'moderator with it': 'allowed' },
  },
  'stop a recording': { method: 'stopRecording', data: () => ({ recordingId: 'r1' }), expected: { participant: 'forbidden', 'moderator without the grant': 'allowed', 'moderator with it': 'allowed' } },
  'dial out': { method: 'dialOut', data: () => ({ number: '+15550100' }), expected: { participant: 'forbidden', 'moderator without the grant': 'forbidden', 'moderator with it': 'allowed' } },
  'cancel a dial-out': { method: 'cancelDialOut', data: () => ({ callId: 'c1' }), expected: { participant: 'forbidden', 'moderator without the grant': 'forbidden', 'moderator with it': 'allowed' } },
  publish: {
    method: 'produce',
    data: () => ({ transportId: 't1', kind: 'audio', source: 'mic', rtpParameters: { codecs: [{ mimeType: 'audio/opus', clockRate: 48000, payloadType: 100 }] } }),
    expected: { participant: 'allowed', 'moderator without the grant': 'forbidden', 'moderator with it': 'allowed' },
  },
};

describe('access control', () => {
  describe('in an open bridge', () => {
    let bridge: Bridge;
    beforeAll(async () => {
      bridge = await startBridge({ MEDIA_WORKERS: '1' });
    });
    afterAll(() => bridge?.stop());

    it('takes each moderator action only from those its rules allow (the permission matrix)', async () => {
      const tokens: Record<Actor, () => Promise<string>> = {
        participant: () => joinToken({ room: '*', role: 'participant' }),
        'moderator without the grant': () => joinToken({ room: '*', role: 'moderator', grants: NO_GRANTS }),
        'moderator with it': () => joinToken({ room: '*', role: 'moderator' }),
      };
      const seen: Record<string, Record<Actor, string>> = {};
      const expected: Record<string, Record<Actor, string>> = {};
      let cell = 0;
      for (const [name, action] of Object.entries(ACTIONS)) {
        expected[name] = action.expected;
        seen[name] = {} as Record<Actor, string>;
        for (const actor of ACTORS) {
          const room = `cell-${cell++}`;
          const target = await joinRoom(bridge.url, room, 'Target', 'web', { token: await joinToken({ room, role: 'participant' }) });
          const taker = await joinRoom(bridge.url, room, 'Taker', 'web', { token: await tokens[actor]() });
          const result = await outcome(taker.client.request(action.method, action.data(target.joined.peerId) as never));
          seen[name][actor] = result;
          if (result === 'forbidden') {
            const refusal = await taker.client.request(action.method, action.data(target.joined.peerId) as never).catch((error: Error) => error.message);
            expect(refusal, `${name} by a ${actor}: the refusal names the action`).toContain(`(${action.method})`);
          }
          taker.client.close();
          target.client.close();
        }
      }
      expect(seen).toEqual(expected);
      const moderatorRules = Object.entries(ACCESS_RULES).filter(([, rule]) => rule.moderator).map(([method]) => method);
      expect(new Set(Object.values(ACTIONS).map((a) => a.method)), 'every moderator action has a row').toEqual(new Set([...moderatorRules, 'produce']));
    });

    it('makes the first in a moderator, lets it promote, and hands over when the last moderator leaves', async () => {
      const alice = await joinRoom(bridge.url, 'roles', 'Alice', 'web');
      const bob = await joinRoom(bridge.url, 'roles', 'Bob', 'web');
      const carol = await joinRoom(bridge.url, 'roles', 'Carol', 'web');
      const phone = await joinRoom(bridge.url, 'roles', 'Phone');
      expect([alice.joined.role, bob.joined.role, carol.joined.role, phone.joined.role]).toEqual(['moderator', 'participant', 'participant', 'participant']);
      expect(carol.joined.peers.map((p) => [p.displayName, p.role])).toEqual([
        ['Alice', 'moderator'],
        ['Bob', 'participant'],
      ]);
      await expect(bob.client.request('promote', { peerId: carol.joined.peerId })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('promote') });

      await alice.client.request('promote', { peerId: carol.joined.peerId });
      expect(await waitFor('Carol told', () => carol.notificationsOf('roleChanged')[0])).toEqual({ role: 'moderator', by: 'Alice' });
      await waitFor('Bob sees Carol moderate', () => bob.notificationsOf('peerUpdated').some((n) => n.peer.id === carol.joined.peerId && n.peer.role === 'moderator'));

      // Two moderators: one leaving hands nothing over; the last leaving hands over to the longest present.
      alice.client.close();
      await waitFor('Alice gone', () => bob.notificationsOf('peerLeft').length === 1);
      carol.client.close();
      expect(await waitFor('Bob handed over', () => bob.notificationsOf('roleChanged')[0])).toEqual({ role: 'moderator', by: null });
      await bob.client.request('setRoomPassword', { password: '1357' });
      expect(phone.notificationsOf('roleChanged')).toEqual([]);
      bob.client.close();
      phone.client.close();
    });

    it('admits phone, service and recorder peers only with the SERVICE_SECRET, and a refused join leaks no room', async () => {
      for (const kind of ['phone', 'service', 'recorder'] as const) {
        expect(await tryJoin(bridge, { room: `leak-${kind}`, displayName: 'X', kind })).toMatchObject({ code: 'forbidden', message: expect.stringContaining('SERVICE_SECRET') });
        expect(await tryJoin(bridge, { room: `leak-${kind}`, displayName: 'X', kind, secret: 'a-guessed-secret-0000' })).toMatchObject({ code: 'forbidden' });
        expect(bridge.registry.get(`leak-${kind}`)).toBeUndefined();
      }
      expect(await tryJoin(bridge, { room: 'leak-token', displayName: 'X', token: 'not-a-token' })).toMatchObject({ code: 'unauthorized', message: 'join: join token refused: malformed token' });
      expect(bridge.registry.get('leak-token')).toBeUndefined();
      expect(bridge.registry.size).toBe(0);
    });
  });

  describe('with AUTH_MODE=token', () => {
    let bridge: Bridge;
    beforeAll(async () => {
      bridge = await startBridge({ MEDIA_WORKERS: '1', AUTH_MODE: 'token' });
    });
    afterAll(() => bridge?.stop());

    it('admits web peers with a valid token for the room only, saying why not', async () => {
      const join = (token?: string) => tryJoin(bridge, { room: 'standup', displayName: 'Guest', token });
      expect(await join()).toMatchObject({ code: 'unauthorized', message: expect.stringContaining('AUTH_MODE=token') });
      expect(await join(await joinToken({ room: 'standup' }, Math.floor(Date.now() / 1000) - 5))).toEqual({ code: 'unauthorized', message: 'join: join token refused: token expired' });
      const [header, payload] = (await joinToken({ room: 'standup' })).split('.');
      const [, , otherSignature] = (await joinToken({ room: 'other' })).split('.');
      expect(await join(`${header}.${payload}.${otherSignature}`)).toEqual({ code: 'unauthorized', message: 'join: join token refused: token signature is invalid' });
      expect(await join(await joinToken({ room: 'board' }))).toEqual({ code: 'unauthorized', message: 'join: join token refused: token is for room board, not standup' });
      expect(bridge.registry.get('standup')).toBeUndefined();

      const ada = await joinRoom(bridge.url, 'standup', 'Guest', 'web', { token: await joinToken({ room: 'standup', name: 'Ada', role: 'moderator', grants: { record: false } }) });
      expect(ada.joined).toMatchObject({ role: 'moderator', grants: { record: false, stream: true } });
      // A participant's token keeps it a participant when the moderator leaves (no handover outside open mode).
      const bob = await joinRoom(bridge.url, 'standup', 'Bob', 'web', { token: await joinToken({ room: 'standup' }) });
      expect(bob.joined.peers).toEqual([expect.objectContaining({ displayName: 'Ada', role: 'moderator' })]);
      ada.client.close();
      await waitFor('Ada gone', () => bob.notificationsOf('peerLeft').length === 1);
      await expect(bob.client.request('endMeeting', {})).rejects.toMatchObject({ code: 'forbidden' });
      bob.client.close();
    });

    it('admits services by their secret, not by token', async () => {
      const phone = await joinRoom(bridge.url, 'calls', 'Phone');
      expect(phone.joined.role).toBe('participant');
      phone.client.close();
    });
  });

  describe('with AUTH_MODE=secure', () => {
    let bridge: Bridge;
    beforeAll(async () => {
      bridge = await startBridge({ MEDIA_WORKERS: '1', AUTH_MODE: 'secure', LOBBY_TIMEOUT_SECONDS: '2' });
    });
    afterAll(() => bridge?.stop());

    it('lets a guest wait for the host, without a room or its contents, and in once a moderator arrives', async () => {
      const guest = await SignalingClient.connect(signalingUrl(bridge.url));
      const waiting: unknown[] = [];
      guest.on('waitingForHost', (data) => waiting.push(data));
      const joining = guest.request('join', { room: 'secure', displayName: 'Guest' });
      await waitFor('the guest told to wait', () => waiting.length === 1);
      expect(waiting).toEqual([{ room: 'secure', timeoutSeconds: 2 }]);
      expect(bridge.registry.get('secure')).toBeUndefined();

      const host = await joinRoom(bridge.url, 'secure', 'Host', 'web', { token: await joinToken({ room: 'secure', role: 'moderator' }) });
      const joined = await joining;
      expect(joined.role).toBe('participant');
      expect(joined.peers.map((p) => p.displayName)).toEqual(['Host']);
      guest.close();
      host.client.close();
    });

    it('refuses a waiting guest when no host comes in time, leaving no room', async () => {
      expect(await tryJoin(bridge, { room: 'empty', displayName: 'Guest' })).toMatchObject({ code: 'unavailable', message: expect.stringContaining('no moderator arrived') });
      expect(bridge.registry.get('empty')).toBeUndefined();
    });

    it('lets a guest in at once while a moderator is present', async () => {
      const host = await joinRoom(bridge.url, 'hosted', 'Host', 'web', { token: await joinToken({ room: 'hosted', role: 'moderator' }) });
      const guest = await joinRoom(bridge.url, 'hosted', 'Guest', 'web');
      expect(guest.notificationsOf('waitingForHost')).toEqual([]);
      expect(guest.joined.role).toBe('participant');
      guest.client.close();
      host.client.close();
    });
  });

  describe('without a SERVICE_SECRET', () => {
    let bridge: Bridge;
    beforeAll(async () => {
      bridge = await startBridge({ MEDIA_WORKERS: '1', SERVICE_SECRET: undefined } as unknown as Record<string, string>);
    });
    afterAll(() => bridge?.stop());

    it('refuses every service and gateway, saying the bridge has none, and admits web peers', async () => {
      expect(await tryJoin(bridge, { room: 'nosecret', displayName: 'X', kind: 'phone', secret: TEST_SERVICE_SECRET })).toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('no SERVICE_SECRET'),
      });
      const gateway = await SignalingClient.connect(signalingUrl(bridge.url));
      await expect(gateway.request('registerGateway', { name: 'gw', dialOut: true, trunkRegistration: null, secret: TEST_SERVICE_SECRET })).rejects.toMatchObject({
        code: 'forbidden',
        message: expect.stringContaining('no SERVICE_SECRET'),
      });
      gateway.close();
      expect(await tryJoin(bridge, { room: 'nosecret', displayName: 'Web' })).toMatchObject({ code: 'joined' });
    });
  });

  describe('room passwords', () => {
    let bridge: Bridge;
    let owner: Joined;
    beforeAll(async () => {
      bridge = await startBridge({ MEDIA_WORKERS: '1' });
      owner = await joinRoom(bridge.url, 'vault', 'Owner', 'web');
      await owner.client.request('setRoomPassword', { password: '7531' });
      await joinRoom(bridge.url, 'vault2', 'Owner2', 'web').then((o) => o.client.request('setRoomPassword', { password: '7531' }));
    });
    afterAll(() => bridge?.stop());

    it('give one socket a handful of guesses, then refuse it even the right one, saying when to retry', async () => {
      const guesser = await SignalingClient.connect(signalingUrl(bridge.url));
      const codes: string[] = [];
      for (let guess = 0; guess < 10; guess++) {
        codes.push(await guesser.request('join', { room: 'vault', displayName: 'Guesser', password: String(1000 + guess) }).then(() => 'joined', (error: SignalingError) => error.code));
      }
      expect(codes).toEqual([...Array(3).fill('passwordRequired'), ...Array(7).fill('rateLimited')]);
      await expect(guesser.request('join', { room: 'vault', displayName: 'Guesser', password: '7531' })).rejects.toMatchObject({
        code: 'rateLimited',
        message: expect.stringMatching(/try again in \d+ s/),
      });
      guesser.close();
    });

    it('give many sockets from one address a handful together, in any room', async () => {
      const codes: string[] = [];
      for (let guess = 0; guess < 10; guess++) {
        const result = await tryJoin(bridge, { room: 'vault2', displayName: 'Guesser', password: String(2000 + guess) });
        codes.push(result.code);
      }
      // The first test's 3 wrong guesses count toward this address's 5 a minute.
      expect(codes).toEqual([...Array(2).fill('passwordRequired'), ...Array(8).fill('rateLimited')]);
    });
  });
});
