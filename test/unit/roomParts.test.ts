import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { DisconnectReason, NotificationData, NotificationName, PeerKind } from '../../protocol/protocol.ts';
import type { Audience } from '../../bridge/rooms/Audience.ts';
import { Moderation } from '../../bridge/rooms/Moderation.ts';
import { Peer, PARTICIPANT, type PeerAccess } from '../../bridge/rooms/Peer.ts';
import { CHAT_HISTORY, Presence } from '../../bridge/rooms/Presence.ts';

/** A peer whose client is a record of what it was told. */
interface FakeClient {
  peer: Peer;
  notifications: { name: NotificationName; data: unknown }[];
  disconnected: DisconnectReason[];
}

/** The room as presence and moderation see it, recording what they did to it. */
interface FakeRoom extends Audience {
  peers: FakeClient[];
  broadcasts: { name: NotificationName; data: unknown; except: Peer | undefined }[];
  announced: Peer[];
  left: Peer[];
  closed: DisconnectReason[];
}

/** Web peers come with `webAccess` (as AUTH_MODE=open gives them by default); the others as services. */
function fakeRoom(kinds: PeerKind[], webAccess: PeerAccess = { ...PARTICIPANT, autoModerator: true }): FakeRoom {
  const peers = kinds.map((kind, i): FakeClient => {
    const client: Omit<FakeClient, 'peer'> = { notifications: [], disconnected: [] };
    const peer = new Peer(`${kind} ${i}`, kind, {
      notify: <N extends NotificationName>(name: N, data: NotificationData<N>) => client.notifications.push({ name, data }),
      send: () => {},
      disconnect: (reason) => client.disconnected.push(reason),
      iceServers: () => undefined,
    }, kind === 'web' ? webAccess : PARTICIPANT);
    return { ...client, peer };
  });
  const room: FakeRoom = {
    name: 'board',
    peers,
    broadcasts: [],
    announced: [],
    left: [],
    closed: [],
    broadcast: (name, data, except) => room.broadcasts.push({ name, data, except }),
    announce: (peer) => room.announced.push(peer),
    getPeer: (peerId) => peers.find((c) => c.peer.id === peerId)?.peer,
    members: () => peers.map((c) => c.peer).filter((peer) => !room.left.includes(peer)),
    leave: (peer) => room.left.push(peer),
    close: (reason) => room.closed.push(reason),
  };
  return room;
}

describe('moderation', () => {
  const setUp = (...kinds: PeerKind[]): { room: FakeRoom; moderation: Moderation } => {
    const room = fakeRoom(kinds);
    return { room, moderation: new Moderation(room, createLogger('silent', 'test')) };
  };

  it('lets anyone in while unlocked, and only with the password once locked', () => {
    const { moderation } = setUp();
    expect(() => moderation.checkEntry(undefined)).not.toThrow();
    moderation.setPassword({ displayName: 'Alice' }, '1234');
    expect(moderation.locked).toBe(true);
    expect(moderation.password).toBe('1234');
    expect(() => moderation.checkEntry(undefined)).toThrow(expect.objectContaining({ code: 'passwordRequired', message: expect.stringMatching(/is locked/) }));
    expect(() => moderation.checkEntry('4321')).toThrow(expect.objectContaining({ code: 'passwordRequired', message: expect.stringMatching(/wrong password/) }));
    expect(() => moderation.checkEntry('1234')).not.toThrow();
    moderation.setPassword({ displayName: 'Alice' }, null);
    expect(moderation.locked).toBe(false);
    expect(() => moderation.checkEntry(undefined)).not.toThrow();
  });

  it('tells everyone who locked and unlocked the room', () => {
    const { room, moderation } = setUp('web');
    moderation.setPassword({ displayName: 'Alice' }, '1234');
    moderation.setPassword({ displayName: 'the operator' }, null);
    expect(room.broadcasts).toEqual([
      { name: 'roomLocked', data: { locked: true, by: 'Alice' }, except: undefined },
      { name: 'roomLocked', data: { locked: false, by: 'the operator' }, except: undefined },
    ]);
  });

  it('mutes a participant: the others see it, the participant learns who did it', async () => {
    const { room, moderation } = setUp('web', 'phone');
    const phone = room.peers[1]!;
    await moderation.mute({ displayName: 'Alice' }, phone.peer.id);
    expect(room.announced).toEqual([phone.peer]);
    expect(phone.notifications).toEqual([{ name: 'mutedByModerator', data: { by: 'Alice' } }]);
  });

  it('does not mute the unknown or hidden services', async () => {
    const { room, moderation } = setUp('recorder');
    await expect(moderation.mute({ displayName: 'Alice' }, 'nobody')).rejects.toMatchObject({ code: 'notFound' });
    await expect(moderation.mute({ displayName: 'Alice' }, room.peers[0]!.peer.id)).rejects.toMatchObject({ code: 'notFound' });
    expect(room.peers[0]!.notifications).toEqual([]);
  });

  it('removes anyone, services too, telling them why', () => {
    const { room, moderation } = setUp('web', 'recorder');
    const [web, recorder] = room.peers;
    moderation.remove({ displayName: 'the operator' }, recorder!.peer.id);
    moderation.remove({ displayName: 'the operator' }, web!.peer.id);
    expect(room.left).toEqual([recorder!.peer, web!.peer]);
    expect(recorder!.disconnected).toEqual(['kicked']);
    expect(web!.disconnected).toEqual(['kicked']);
    expect(() => moderation.remove({ displayName: 'the operator' }, 'nobody')).toThrow(expect.objectContaining({ code: 'notFound' }));
  });
});

describe('moderator roles', () => {
  const setUp = (kinds: PeerKind[], webAccess?: PeerAccess) => {
    const room = fakeRoom(kinds, webAccess);
    const moderation = new Moderation(room, createLogger('silent', 'test'));
    for (const { peer } of room.peers) moderation.joined(peer);
    return { room, moderation, roles: () => room.peers.map((c) => c.peer.role) };
  };

  it('makes the first auto-moderator web peer in the moderator, and only it', () => {
    const { moderation, roles } = setUp(['phone', 'web', 'web']);
    expect(roles()).toEqual(['participant', 'moderator', 'participant']);
    expect(moderation.hasModerator).toBe(true);
  });

  it('hands over to the longest present auto-moderator peer when the last moderator leaves, telling it', () => {
    const { room, moderation, roles } = setUp(['web', 'phone', 'web', 'web']);
    const [first, , second] = room.peers;
    room.left.push(first!.peer);
    moderation.left(first!.peer);
    expect(roles().slice(1)).toEqual(['participant', 'moderator', 'participant']);
    expect(second!.notifications).toEqual([{ name: 'roleChanged', data: { role: 'moderator', by: null } }]);
    expect(room.announced).toEqual([second!.peer]);
  });

  it('hands over to nobody whose role came from a token (AUTH_MODE token and secure)', () => {
    const token = { ...PARTICIPANT, autoModerator: false };
    const { room, moderation, roles } = setUp(['web', 'web'], token);
    expect(roles()).toEqual(['participant', 'participant']);
    room.peers[0]!.peer.setRole('moderator');
    room.left.push(room.peers[0]!.peer);
    moderation.left(room.peers[0]!.peer);
    expect(room.peers[1]!.peer.role).toBe('participant');
    expect(moderation.hasModerator).toBe(false);
  });

  it('promotes a web participant, telling it who did; phones cannot moderate', () => {
    const { room, moderation } = setUp(['web', 'web', 'phone']);
    const [, bob, phone] = room.peers;
    moderation.promote({ displayName: 'Alice' }, bob!.peer.id);
    expect(bob!.peer.info().role).toBe('moderator');
    expect(bob!.notifications).toEqual([{ name: 'roleChanged', data: { role: 'moderator', by: 'Alice' } }]);
    expect(() => moderation.promote({ displayName: 'Alice' }, phone!.peer.id)).toThrow(expect.objectContaining({ code: 'notFound' }));
    expect(() => moderation.promote({ displayName: 'Alice' }, 'nobody')).toThrow(expect.objectContaining({ code: 'notFound' }));
  });

  it('ends the meeting for everyone', () => {
    const { room, moderation } = setUp(['web']);
    moderation.end({ displayName: 'Alice' });
    expect(room.closed).toEqual(['meetingEnded']);
  });
});

describe('presence', () => {
  it('shows a new name and a raised hand to the others', () => {
    const room = fakeRoom(['web']);
    const presence = new Presence(room);
    const { peer } = room.peers[0]!;
    presence.setDisplayName(peer, 'Alice B.');
    presence.setHandRaised(peer, true);
    expect(peer.info()).toMatchObject({ displayName: 'Alice B.', handRaised: true });
    expect(room.announced).toEqual([peer, peer]);
  });

  it('sends chat to everyone but the sender and keeps the latest for those who join later', () => {
    const room = fakeRoom(['web']);
    const presence = new Presence(room);
    const { peer } = room.peers[0]!;
    const first = presence.chat(peer, 'hello');
    expect(first).toMatchObject({ peerId: peer.id, displayName: peer.displayName, text: 'hello' });
    expect(room.broadcasts).toEqual([{ name: 'chat', data: { message: first }, except: peer }]);
    for (let i = 0; i < CHAT_HISTORY; i++) presence.chat(peer, `message ${i}`);
    expect(presence.chatHistory).toHaveLength(CHAT_HISTORY);
    expect(presence.chatHistory[0]!.text).toBe('message 0');
    expect(presence.chatHistory.at(-1)!.text).toBe(`message ${CHAT_HISTORY - 1}`);
  });
});
