// Moderation on the bridge: locking a room with a password, muting someone
// else's microphone, and what a gateway's control connection may do.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { joinRoom, signalingUrl } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

describe('moderation', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
  });
  afterAll(() => bridge?.stop());

  it('a locked room needs its password; everyone inside sees the lock change', async () => {
    const alice = await joinRoom(bridge.url, 'locked', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'locked', 'Bob', 'web');
    const seen: boolean[] = [];
    bob.client.on('roomLocked', ({ locked, by }) => by === 'Alice' && seen.push(locked));
    await expect(alice.client.request('setRoomPassword', { password: 'open sesame' })).rejects.toMatchObject({ code: 'invalidData' });
    await alice.client.request('setRoomPassword', { password: '7531' });
    await waitFor('Bob sees the lock', () => seen.includes(true));

    const knock = async (password?: string) => {
      const client = await SignalingClient.connect(signalingUrl(bridge.url));
      try {
        return await client.request('join', { room: 'locked', displayName: 'Carol', kind: 'web', password });
      } finally {
        client.close();
      }
    };
    await expect(knock()).rejects.toMatchObject({ code: 'passwordRequired', message: expect.stringContaining('locked') });
    await expect(knock('1111')).rejects.toMatchObject({ code: 'passwordRequired', message: expect.stringContaining('wrong password') });
    expect(await knock('7531')).toMatchObject({ locked: true });
    expect((await (await operatorFetch(`${bridge.url}/api/rooms/locked`)).json()).locked).toBe(true);

    await alice.client.request('setRoomPassword', { password: null });
    await waitFor('Bob sees the unlock', () => seen.includes(false));
    expect(await knock()).toMatchObject({ locked: false });
    alice.client.close();
    bob.client.close();
  });

  it("mutes someone else's microphone and tells them who did", async () => {
    const alice = await joinRoom(bridge.url, 'mute', 'Alice', 'web');
    const phone = await joinRoom(bridge.url, 'mute', 'Phone');
    const transport = await phone.client.request('createPlainTransport', { comedia: true });
    const { producerId } = await phone.client.request('produce', {
      transportId: transport.id,
      kind: 'audio',
      source: 'mic',
      rtpParameters: { codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }], encodings: [{ ssrc: 1234 }] },
    });
    const told: string[] = [];
    phone.client.on('mutedByModerator', ({ by }) => told.push(by));

    await alice.client.request('muteParticipant', { peerId: phone.joined.peerId });
    await waitFor('the phone told', () => told.includes('Alice'));
    const peer = await waitFor('Alice sees it muted', () =>
      alice.notificationsOf('peerUpdated').find((u) => u.peer.id === phone.joined.peerId && u.peer.producers[0]?.paused),
    );
    expect(peer.peer.producers[0]?.id).toBe(producerId);
    await expect(alice.client.request('muteParticipant', { peerId: 'nobody' })).rejects.toMatchObject({ code: 'notFound' });

    // Only they can unmute.
    await phone.client.request('setProducerPaused', { producerId, paused: false });
    const api = (path: string) => operatorFetch(`${bridge.url}${path}`, { method: 'POST' });
    expect((await api(`/api/rooms/mute/participants/${phone.joined.peerId}/mute`)).status).toBe(204);
    await waitFor('the operator named', () => told.includes('the operator'));
    expect((await api('/api/rooms/mute/participants/nobody/mute')).status).toBe(404);
    alice.client.close();
    phone.client.close();
  });

  it('mutes everyone but the moderator asking, each told, and only those whose microphone was live', async () => {
    const alice = await joinRoom(bridge.url, 'mute-all', 'Alice', 'web');
    const phones = await Promise.all(['Phone 1', 'Phone 2', 'Phone 3'].map((name) => joinRoom(bridge.url, 'mute-all', name)));
    const told = new Map<string, string[]>();
    const producers = await Promise.all(
      phones.map(async (phone, i) => {
        const transport = await phone.client.request('createPlainTransport', { comedia: true });
        told.set(phone.joined.peerId, []);
        phone.client.on('mutedByModerator', ({ by }) => told.get(phone.joined.peerId)!.push(by));
        const { producerId } = await phone.client.request('produce', {
          transportId: transport.id,
          kind: 'audio',
          source: 'mic',
          rtpParameters: { codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 }], encodings: [{ ssrc: 2000 + i }] },
        });
        return producerId;
      }),
    );
    // The third phone muted itself already: it is not muted again, nor told.
    await phones[2]!.client.request('setProducerPaused', { producerId: producers[2]!, paused: true });

    expect(await alice.client.request('muteAll', {})).toEqual({ muted: 2 });
    for (const phone of phones.slice(0, 2)) {
      await waitFor(`${phone.joined.peerId} told`, () => told.get(phone.joined.peerId)!.includes('Alice'));
      await waitFor('Alice sees it muted', () => alice.notificationsOf('peerUpdated').some((u) => u.peer.id === phone.joined.peerId && u.peer.producers[0]?.paused));
    }
    expect(told.get(phones[2]!.joined.peerId)).toEqual([]);
    expect(await alice.client.request('muteAll', {})).toEqual({ muted: 0 });
    for (const client of [alice, ...phones]) client.client.close();
  });

  it('admits phone, service and recorder peers and gateways only with the SERVICE_SECRET', async () => {
    const attempt = async (data: { kind?: 'phone' | 'service' | 'recorder' | 'web'; secret?: string; gateway?: boolean }) => {
      const client = await SignalingClient.connect(signalingUrl(bridge.url));
      try {
        if (data.gateway) return await client.request('registerGateway', { name: 'gw', dialOut: false, trunkRegistration: null, secret: data.secret });
        return await client.request('join', { room: 'guarded', displayName: 'X', kind: data.kind, secret: data.secret });
      } finally {
        client.close();
      }
    };
    for (const kind of ['phone', 'service', 'recorder'] as const) {
      await expect(attempt({ kind })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('SERVICE_SECRET') });
      await expect(attempt({ kind, secret: 'guessed-secret-guessed' })).rejects.toMatchObject({ code: 'forbidden' });
      await expect(attempt({ kind, secret: TEST_SERVICE_SECRET })).resolves.toMatchObject({ room: 'guarded' });
    }
    await expect(attempt({ gateway: true })).rejects.toMatchObject({ code: 'forbidden' });
    await expect(attempt({ gateway: true, secret: TEST_SERVICE_SECRET })).resolves.toEqual({ authMode: 'open' });
    // Participants need no secret.
    await expect(attempt({ kind: 'web' })).resolves.toMatchObject({ room: 'guarded' });
  });

  it('keeps gateway requests off room connections and room requests off gateway connections', async () => {
    const alice = await joinRoom(bridge.url, 'sep', 'Alice', 'web');
    await expect(alice.client.request('registerGateway', { name: 'gw', dialOut: true, trunkRegistration: null })).rejects.toMatchObject({
      code: 'alreadyJoined',
    });
    const gateway = await SignalingClient.connect(signalingUrl(bridge.url));
    await expect(gateway.request('reportDialOut', { callId: 'x', state: 'ringing' })).rejects.toMatchObject({ code: 'notJoined' });
    await gateway.request('registerGateway', { name: 'gw', dialOut: false, trunkRegistration: null, secret: TEST_SERVICE_SECRET });
    await expect(gateway.request('join', { room: 'sep', displayName: 'Sneaky' })).rejects.toMatchObject({ code: 'alreadyJoined' });
    await expect(gateway.request('reportDialOut', { callId: 'unknown', state: 'ringing' })).rejects.toMatchObject({ code: 'notFound' });
    // Registered, but without a trunk: nobody can be invited.
    await expect(alice.client.request('dialOut', { number: '+15550100' })).rejects.toMatchObject({ code: 'unavailable' });
    const health = await (await fetch(`${bridge.url}/healthz`)).json();
    expect(health.sipGateways).toEqual([{ name: 'gw', dialOut: false, activeDialOuts: 0, trunkRegistration: null }]);
    gateway.close();
    await waitFor('the gateway dropped from health', async () => (await (await fetch(`${bridge.url}/healthz`)).json()).sipGateways.length === 0);
    alice.client.close();
  });
});
