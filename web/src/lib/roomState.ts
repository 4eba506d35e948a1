// What the room looks like to us: who is in it, what they send, who speaks,
// the chat, phone invitations, recordings and streams, the lock, the lobby
// and who knocks at it, and the problems worth telling the user. A pure reducer, (state, event) -> state,
// with no DOM and no signals, so the rules (late recording updates, problems
// said once, a rejoin replacing the room) are unit-tested without a browser;
// the conference keeps one signal of it and derives what the UI reads.
import type {
  ChatMessage,
  DialIn,
  DialOutCall,
  Grants,
  Knock,
  NotificationData,
  PeerInfo,
  RecordingInfo,
  ResponseData,
  Role,
} from '../../../protocol/protocol.ts';
import { FINAL_RECORDING_STATES, recordingStateSchema } from '../../../protocol/protocol.ts';

export interface Notice {
  id: number;
  text: string;
}

export interface RoomState {
  /** Our name in the room: our own lock changes are not announced back to us. */
  readonly selfName: string;
  /** Our peer id in the room, new on every join. */
  readonly selfId: string | null;
  /** What we may do: moderators see the moderator controls, narrowed by the grants of our join token. */
  readonly role: Role;
  readonly grants: Grants;
  /** The other peers, by id. */
  readonly participants: ReadonlyMap<string, PeerInfo>;
  readonly activeSpeakerId: string | null;
  /** Loudness 0..1 of each peer currently speaking. */
  readonly levels: ReadonlyMap<string, number>;
  readonly chat: readonly ChatMessage[];
  /** Phone numbers and PIN that reach this room, once joined. */
  readonly dialIn: DialIn | null;
  readonly locked: boolean;
  /** Whether newcomers knock and wait for a moderator to let them in. */
  readonly lobbyEnabled: boolean;
  /** End-to-end encryption is on: every browser encrypts what it sends. */
  readonly e2ee: boolean;
  /** Who waits in the lobby, by knock id, in the order they knocked: only moderators are told. */
  readonly knocks: ReadonlyMap<string, Knock>;
  /** Whether phones can be invited (a SIP gateway with a trunk is connected). */
  readonly dialOutAvailable: boolean;
  /** Phone invitations, under way and recently finished, by id. */
  readonly dialOuts: ReadonlyMap<string, DialOutCall>;
  /** Recordings and live streams under way, by id; ended ones leave. */
  readonly recordings: ReadonlyMap<string, RecordingInfo>;
  /** Late updates of these are dropped, so an ended recording does not come back. */
  readonly endedRecordingIds: ReadonlySet<string>;
  /** The latest recording to finish or fail: the recordings list reloads on it. */
  readonly lastEndedRecording: RecordingInfo | null;
  /** Recording problems already told, by recording id and text: a failure often repeats its destination's words. */
  readonly reportedProblems: ReadonlySet<string>;
  /** Problems worth telling the user, newest last. */
  readonly notices: readonly Notice[];
  readonly lastNoticeId: number;
}

/** The notifications that change the room (the others drive the connection and the media). */
type RoomNotification =
  | 'peerJoined'
  | 'peerUpdated'
  | 'peerLeft'
  | 'activeSpeaker'
  | 'audioLevels'
  | 'chat'
  | 'mutedByModerator'
  | 'roleChanged'
  | 'roomLocked'
  | 'lobbyChanged'
  | 'knocking'
  | 'knockEnded'
  | 'dialOutUpdated'
  | 'recordingUpdated'
  | 'e2eeChanged';

/**
 * A notification as it arrives, or what we learn ourselves: a join (first or
 * after a reconnect) replaces the room; our own chat message, invitation and
 * recording come back in responses and are the same events as others'.
 */
export type RoomEvent =
  | { [N in RoomNotification]: { type: N } & NotificationData<N> }[RoomNotification]
  | { type: 'joined'; joined: ResponseData<'join'> }
  /** Our media is gone (reconnecting, the media server replaced, left): nobody is heard speaking. */
  | { type: 'mediaStopped' }
  | { type: 'notice'; text: string }
  | { type: 'noticeDismissed'; id: number };

/** How many notices stay on screen; older ones make way. */
const MAX_NOTICES = 4;
/** Recording states in the order they happen. */
const STATE_ORDER = recordingStateSchema.options;

export function initialRoomState(selfName: string): RoomState {
  return {
    selfName,
    selfId: null,
    // Nothing to moderate with until the bridge says so at join.
    role: 'participant',
    grants: { publish: true, subscribe: true, record: false, stream: false, dialOut: false },
    participants: new Map(),
    activeSpeakerId: null,
    levels: new Map(),
    chat: [],
    dialIn: null,
    locked: false,
    lobbyEnabled: false,
    e2ee: false,
    knocks: new Map(),
    dialOutAvailable: false,
    dialOuts: new Map(),
    recordings: new Map(),
    endedRecordingIds: new Set(),
    lastEndedRecording: null,
    reportedProblems: new Set(),
    notices: [],
    lastNoticeId: 0,
  };
}

export function roomState(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case 'joined': {
      const { joined } = event;
      // A rejoin is a new peer in a room that went on without us: take the
      // room as it is now. What we told the user (notices, ended recordings)
      // stays told.
      return {
        ...state,
        selfId: joined.peerId,
        role: joined.role,
        grants: joined.grants,
        participants: new Map(joined.peers.map((p) => [p.id, p])),
        chat: joined.chat,
        activeSpeakerId: joined.activeSpeakerId,
        dialIn: joined.dialIn,
        locked: joined.locked,
        lobbyEnabled: joined.lobby.enabled,
        e2ee: joined.e2ee,
        knocks: new Map(joined.lobby.knocks.map((k) => [k.id, k])),
        dialOutAvailable: joined.dialOutAvailable,
        dialOuts: new Map(joined.dialOuts.map((c) => [c.id, c])),
        recordings: new Map(joined.recordings.map((r) => [r.id, r])),
      };
    }
    case 'peerJoined':
    case 'peerUpdated':
      return { ...state, participants: withEntry(state.participants, event.peer.id, event.peer) };
    case 'peerLeft': {
      const participants = new Map(state.participants);
      participants.delete(event.peerId);
      return { ...state, participants };
    }
    case 'activeSpeaker':
      return { ...state, activeSpeakerId: event.peerId };
    case 'audioLevels':
      // dBov -70..0 to 0..1, on a curve that makes normal speech visible.
      return { ...state, levels: new Map(event.levels.map((l) => [l.peerId, Math.max(0, Math.min(1, (l.volume + 70) / 60)) ** 1.5])) };
    case 'mediaStopped':
      return { ...state, levels: new Map() };
    case 'chat':
      return { ...state, chat: [...state.chat, event.message] };
    case 'mutedByModerator':
      return withNotice(state, `${event.by} muted your microphone`);
    case 'roleChanged':
      return withNotice(
        // A new moderator is told of each waiting knock (knocking); a former one no longer hears when they end.
        { ...state, role: event.role, knocks: event.role === 'moderator' ? state.knocks : new Map() },
        event.role === 'moderator' ? (event.by ? `${event.by} made you a moderator` : 'You are now a moderator: the last one left') : 'You are no longer a moderator',
      );
    case 'roomLocked': {
      const next = { ...state, locked: event.locked };
      return event.by === state.selfName ? next : withNotice(next, `${event.by} ${event.locked ? 'locked' : 'unlocked'} the meeting`);
    }
    case 'lobbyChanged': {
      const next = { ...state, lobbyEnabled: event.enabled };
      return event.by === state.selfName ? next : withNotice(next, `${event.by} turned the lobby ${event.enabled ? 'on' : 'off'}`);
    }
    case 'e2eeChanged': {
      const next = { ...state, e2ee: event.enabled };
      return event.by === state.selfName ? next : withNotice(next, `${event.by} turned end-to-end encryption ${event.enabled ? 'on' : 'off'}`);
    }
    case 'knocking': {
      // Known already when the bridge replays it (a promotion right after a join that listed it).
      if (state.knocks.has(event.knock.id)) return state;
      const who = event.knock.kind === 'phone' ? `Phone caller ${event.knock.displayName}` : event.knock.displayName;
      return withNotice({ ...state, knocks: withEntry(state.knocks, event.knock.id, event.knock) }, `${who} is waiting in the lobby`);
    }
    case 'knockEnded': {
      const knocks = new Map(state.knocks);
      knocks.delete(event.knockId);
      return { ...state, knocks };
    }
    case 'dialOutUpdated':
      return { ...state, dialOuts: withEntry(state.dialOuts, event.call.id, event.call) };
    case 'recordingUpdated':
      return updateRecording(state, event.recording);
    case 'notice':
      return withNotice(state, event.text);
    case 'noticeDismissed':
      return { ...state, notices: state.notices.filter((n) => n.id !== event.id) };
  }
}

function updateRecording(state: RoomState, recording: RecordingInfo): RoomState {
  if (state.endedRecordingIds.has(recording.id)) return state;
  const known = state.recordings.get(recording.id);
  // The start response can arrive after the first progress notification.
  if (known && STATE_ORDER.indexOf(recording.state) < STATE_ORDER.indexOf(known.state)) return state;
  const next = reportRecordingProblems(state, recording);
  if (!FINAL_RECORDING_STATES.has(recording.state)) {
    return { ...next, recordings: withEntry(next.recordings, recording.id, recording) };
  }
  const recordings = new Map(next.recordings);
  recordings.delete(recording.id);
  return {
    ...next,
    recordings,
    endedRecordingIds: new Set(next.endedRecordingIds).add(recording.id),
    lastEndedRecording: recording,
  };
}

/** Failed destinations, failed recordings and survived crashes, each said once. */
function reportRecordingProblems(state: RoomState, recording: RecordingInfo): RoomState {
  const problems: [prefix: string, problem: string][] = [];
  for (const stream of recording.streams) {
    if (stream.state === 'failed') problems.push(['Live stream failed', stream.error ?? `${stream.url} refused the stream`]);
    else if (stream.error) problems.push(['Live stream', stream.error]); // dropped, reconnecting
  }
  const what = recording.file ? 'Recording' : 'Live stream';
  if (recording.state === 'failed') {
    problems.push([`${what} failed`, recording.error ?? 'the recorder gave up']);
  } else if (recording.error && !recording.streams.some((s) => s.error === recording.error)) {
    // Trouble the recorder survived (a crashed capture restarted): people should know there may be a gap.
    problems.push([what, recording.error]);
  }
  return problems.reduce((next, [prefix, problem]) => {
    const key = `${recording.id}\n${problem}`;
    if (next.reportedProblems.has(key)) return next;
    return withNotice({ ...next, reportedProblems: new Set(next.reportedProblems).add(key) }, `${prefix}: ${problem}`);
  }, state);
}

function withNotice(state: RoomState, text: string): RoomState {
  const id = state.lastNoticeId + 1;
  return { ...state, notices: [...state.notices.slice(-(MAX_NOTICES - 1)), { id, text }], lastNoticeId: id };
}

function withEntry<V>(map: ReadonlyMap<string, V>, key: string, value: V): Map<string, V> {
  return new Map(map).set(key, value);
}
