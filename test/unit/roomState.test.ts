// The web client's room reducer driven through a meeting as the bridge tells
// it: no browser, no bridge, just the events in the order they arrive.
import { describe, expect, it } from 'vitest';
import type { Knock, PeerInfo, RecordingInfo, ResponseData } from '../../protocol/protocol.ts';
import { initialRoomState, roomState, type RoomEvent, type RoomState } from '../../web/src/lib/roomState.ts';

function peer(id: string, displayName: string, changes: Partial<PeerInfo> = {}): PeerInfo {
  return { id, displayName, kind: 'web', role: 'participant', handRaised: false, joinedAt: 1_700_000_000_000, producers: [], encrypting: false, ...changes };
}

function joined(peerId: string, changes: Partial<ResponseData<'join'>> = {}): ResponseData<'join'> {
  return {
    peerId,
    role: 'participant',
    grants: { publish: true, subscribe: true, record: true, stream: true, dialOut: true },
    accessToken: 'member-token',
    room: 'standup',
    routerRtpCapabilities: { codecs: [] },
    peers: [],
    chat: [],
    activeSpeakerId: null,
    dialIn: { pin: '123456', numbers: ['+15550100'] },
    locked: false,
    lobby: { enabled: false, knocks: [] },
    dialOutAvailable: true,
    dialOuts: [],
    recordings: [],
    e2ee: false,
    fallbacks: [],
    ...changes,
  };
}

function recording(id: string, changes: Partial<RecordingInfo> = {}): RecordingInfo {
  return {
    id,
    room: 'standup',
    mode: 'composite',
    state: 'queued',
    file: true,
    streams: [],
    requestedBy: 'Alice',
    startedAt: null,
    durationSeconds: 0,
    bytes: 0,
    droppedFrames: 0,
    fps: 0,
    parts: 1,
    ...changes,
  };
}

const run = (state: RoomState, ...events: RoomEvent[]): RoomState => events.reduce(roomState, state);
const texts = (state: RoomState) => state.notices.map((n) => n.text);

describe('roomState', () => {
  const bob = peer('bob1', 'Bob', { producers: [{ id: 'p-mic', kind: 'audio', source: 'mic', paused: false }] });

  it('follows a meeting: join, others come and go, media, speaking, chat, lock', () => {
    let state = run(initialRoomState('Alice'), {
      type: 'joined',
      joined: joined('alice1', { peers: [bob], chat: [{ id: 'm1', peerId: 'bob1', displayName: 'Bob', text: 'hi', at: 1 }] }),
    });
    expect(state.selfId).toBe('alice1');
    expect([...state.participants.keys()]).toEqual(['bob1']);
    expect(state.chat.map((m) => m.text)).toEqual(['hi']);
    expect(state.dialIn?.pin).toBe('123456');

    const carol = peer('carol1', 'Carol');
    state = run(state, { type: 'peerJoined', peer: carol });
    expect([...state.participants.keys()]).toEqual(['bob1', 'carol1']);

    // Carol turns her camera on, Bob mutes and raises his hand.
    state = run(
      state,
      { type: 'peerUpdated', peer: { ...carol, producers: [{ id: 'p-cam', kind: 'video', source: 'camera', paused: false }] } },
      { type: 'peerUpdated', peer: { ...bob, handRaised: true, producers: [{ id: 'p-mic', kind: 'audio', source: 'mic', paused: true }] } },
    );
    expect(state.participants.get('carol1')!.producers.map((p) => p.source)).toEqual(['camera']);
    expect(state.participants.get('bob1')!.producers[0]!.paused).toBe(true);
    expect(state.participants.get('bob1')!.handRaised).toBe(true);

    // Speaking: dBov to 0..1, loudest at 1, silence below -70 at 0.
    state = run(
      state,
      { type: 'activeSpeaker', peerId: 'carol1' },
      { type: 'audioLevels', levels: [{ peerId: 'carol1', volume: -10 }, { peerId: 'bob1', volume: -90 }] },
    );
    expect(state.activeSpeakerId).toBe('carol1');
    expect(state.levels.get('carol1')).toBe(1);
    expect(state.levels.get('bob1')).toBe(0);
    state = run(state, { type: 'audioLevels', levels: [{ peerId: 'bob1', volume: -40 }] });
    expect(state.levels.get('bob1')).toBeCloseTo(0.5 ** 1.5);
    expect(state.levels.has('carol1')).toBe(false);

    state = run(state, { type: 'chat', message: { id: 'm2', peerId: 'carol1', displayName: 'Carol', text: 'hello', at: 2 } });
    expect(state.chat.map((m) => m.text)).toEqual(['hi', 'hello']);

    // Others' lock changes are announced; our own are not.
    state = run(state, { type: 'roomLocked', locked: true, by: 'Carol' });
    expect(state.locked).toBe(true);
    state = run(state, { type: 'roomLocked', locked: false, by: 'Alice' });
    expect(state.locked).toBe(false);
    expect(texts(state)).toEqual(['Carol locked the meeting']);

    state = run(state, { type: 'mutedByModerator', by: 'Carol' });
    expect(texts(state)).toContain('Carol muted your microphone');

    state = run(state, { type: 'peerLeft', peerId: 'carol1' });
    expect([...state.participants.keys()]).toEqual(['bob1']);
  });

  it('tracks phone invitations by id', () => {
    const call = { id: 'c1', number: '+15550199', state: 'calling' as const, requestedBy: 'Alice', startedAt: 5 };
    const state = run(
      initialRoomState('Alice'),
      { type: 'joined', joined: joined('alice1') },
      { type: 'dialOutUpdated', call },
      { type: 'dialOutUpdated', call: { ...call, state: 'answered', peerId: 'phone1' } },
    );
    expect([...state.dialOuts.values()].map((c) => c.state)).toEqual(['answered']);
  });

  it('keeps recordings in order, drops late updates of ended ones and tells each problem once', () => {
    let state = run(initialRoomState('Alice'), { type: 'joined', joined: joined('alice1') });
    // The first progress notification overtakes the start response.
    state = run(
      state,
      { type: 'recordingUpdated', recording: recording('r1', { state: 'starting' }) },
      { type: 'recordingUpdated', recording: recording('r1', { state: 'queued' }) },
    );
    expect(state.recordings.get('r1')!.state).toBe('starting');

    // A live stream to two destinations; one keeps failing with the same words.
    const failing = { url: 'rtmp://a.example/live', state: 'failed' as const, error: 'connection refused' };
    const live = recording('r2', { file: false, state: 'active', streams: [failing, { url: 'rtmp://b.example/live', state: 'live' }] });
    state = run(state, { type: 'recordingUpdated', recording: live }, { type: 'recordingUpdated', recording: { ...live, durationSeconds: 5 } });
    expect(texts(state)).toEqual(['Live stream failed: connection refused']);

    // A capture crash the recorder survived.
    state = run(state, { type: 'recordingUpdated', recording: recording('r1', { state: 'active', error: 'capture restarted', parts: 2 }) });
    expect(texts(state)).toEqual(['Live stream failed: connection refused', 'Recording: capture restarted']);

    state = run(state, { type: 'recordingUpdated', recording: recording('r1', { state: 'finished' }) });
    expect(state.recordings.has('r1')).toBe(false);
    expect(state.lastEndedRecording?.id).toBe('r1');
    // A late 'active' from before it finished does not bring it back.
    state = run(state, { type: 'recordingUpdated', recording: recording('r1', { state: 'active' }) });
    expect(state.recordings.has('r1')).toBe(false);

    state = run(state, { type: 'recordingUpdated', recording: { ...live, state: 'failed', error: 'all destinations failed' } });
    expect(state.recordings.size).toBe(0);
    expect(texts(state).at(-1)).toBe('Live stream failed: all destinations failed');
  });

  it('keeps the last four notices and dismisses by id', () => {
    let state = initialRoomState('Alice');
    for (const text of ['one', 'two', 'three', 'four', 'five']) state = roomState(state, { type: 'notice', text });
    expect(texts(state)).toEqual(['two', 'three', 'four', 'five']);
    state = roomState(state, { type: 'noticeDismissed', id: state.notices[1]!.id });
    expect(texts(state)).toEqual(['two', 'four', 'five']);
  });

  it('a reconnect takes the room as it is now and keeps what was said', () => {
    let state = run(
      initialRoomState('Alice'),
      { type: 'joined', joined: joined('alice1', { peers: [bob], locked: true }) },
      { type: 'audioLevels', levels: [{ peerId: 'bob1', volume: -20 }] },
      { type: 'recordingUpdated', recording: recording('r1', { state: 'failed', error: 'no space left' }) },
    );
    expect(texts(state)).toEqual(['Recording failed: no space left']);

    // The connection drops: media goes, nobody is heard speaking; the room stays on screen.
    state = roomState(state, { type: 'mediaStopped' });
    expect(state.levels.size).toBe(0);
    expect(state.participants.size).toBe(1);

    // Rejoined as a new peer; Bob left meanwhile, Dave came, the lock was lifted.
    const dave = peer('dave1', 'Dave');
    state = roomState(state, {
      type: 'joined',
      joined: joined('alice2', { peers: [dave], locked: false, activeSpeakerId: 'dave1', dialOutAvailable: false }),
    });
    expect(state.selfId).toBe('alice2');
    expect([...state.participants.keys()]).toEqual(['dave1']);
    expect(state.locked).toBe(false);
    expect(state.activeSpeakerId).toBe('dave1');
    expect(state.dialOutAvailable).toBe(false);
    expect(texts(state)).toEqual(['Recording failed: no space left']);
    // The failed recording stays ended and is not told again.
    state = roomState(state, { type: 'recordingUpdated', recording: recording('r1', { state: 'failed', error: 'no space left' }) });
    expect(texts(state)).toEqual(['Recording failed: no space left']);
  });

  it('keeps our role and grants from the join, a promotion and a handover, and shows others\' roles', () => {
    let state = initialRoomState('Alice');
    expect(state.role).toBe('participant');
    expect(state.grants.record).toBe(false); // nothing to moderate with before the bridge says so
    const noRecord = { publish: true, subscribe: true, record: false, stream: true, dialOut: true };
    state = roomState(state, { type: 'joined', joined: joined('alice1', { role: 'participant', grants: noRecord, peers: [peer('bob1', 'Bob', { role: 'moderator' })] }) });
    expect(state.role).toBe('participant');
    expect(state.grants).toEqual(noRecord);
    expect(state.participants.get('bob1')!.role).toBe('moderator');

    state = roomState(state, { type: 'roleChanged', role: 'moderator', by: 'Bob' });
    expect(state.role).toBe('moderator');
    state = roomState(state, { type: 'roleChanged', role: 'moderator', by: null });
    expect(state.notices.map((n) => n.text)).toEqual(['Bob made you a moderator', 'You are now a moderator: the last one left']);

    // A rejoin is a new peer: the bridge decides again.
    state = roomState(state, { type: 'joined', joined: joined('alice2', { role: 'participant' }) });
    expect(state.role).toBe('participant');
  });

  it('follows the lobby: whether it is on, who knocks and when they stop waiting, for moderators only', () => {
    const knock = (id: string, displayName: string, kind: Knock['kind'] = 'web'): Knock => ({ id, displayName, kind, since: 1_700_000_000_000 });
    const moderator = { role: 'moderator' as const };
    let state = run(initialRoomState('Alice'), {
      type: 'joined',
      joined: joined('alice1', { ...moderator, lobby: { enabled: true, knocks: [knock('k1', 'Bob')] } }),
    });
    expect(state.lobbyEnabled).toBe(true);
    expect([...state.knocks.keys()]).toEqual(['k1']);
    expect(texts(state)).toEqual([]); // waiting before we came: the list shows them, no toast

    // A browser and a phone knock; each is told once (the bridge replays knocks to a new moderator).
    state = run(
      state,
      { type: 'knocking', knock: knock('k2', 'Carol') },
      { type: 'knocking', knock: knock('k3', '+15550123', 'phone') },
      { type: 'knocking', knock: knock('k2', 'Carol') },
    );
    expect([...state.knocks.keys()]).toEqual(['k1', 'k2', 'k3']);
    expect(texts(state)).toEqual(['Carol is waiting in the lobby', 'Phone caller +15550123 is waiting in the lobby']);

    // Admitted, turned away, gone: no longer waiting, whoever decided.
    state = run(
      state,
      { type: 'knockEnded', knockId: 'k1', outcome: 'admitted', by: 'Alice' },
      { type: 'knockEnded', knockId: 'k3', outcome: 'denied', by: 'Dave' },
    );
    expect([...state.knocks.keys()]).toEqual(['k2']);

    // Our own switch is not announced back to us; another moderator's is.
    state = run(state, { type: 'lobbyChanged', enabled: false, by: 'Alice' }, { type: 'lobbyChanged', enabled: true, by: 'Dave' });
    expect(state.lobbyEnabled).toBe(true);
    expect(texts(state)).toEqual(['Carol is waiting in the lobby', 'Phone caller +15550123 is waiting in the lobby', 'Dave turned the lobby on']);

    // No longer a moderator: no longer told who stops waiting, so nobody is listed.
    state = run(state, { type: 'roleChanged', role: 'participant', by: 'Dave' });
    expect(state.knocks.size).toBe(0);
    expect(state.lobbyEnabled).toBe(true);
    // Made one again: told of each waiting knock, after or before the role change.
    state = run(state, { type: 'knocking', knock: knock('k4', 'Erin') }, { type: 'roleChanged', role: 'moderator', by: 'Dave' });
    expect([...state.knocks.keys()]).toEqual(['k4']);

    // A rejoin takes the lobby as it is now.
    state = run(state, { type: 'joined', joined: joined('alice2') });
    expect(state.lobbyEnabled).toBe(false);
    expect(state.knocks.size).toBe(0);
  });
});
