// What each signaling request needs beyond being in the room: one table, so
// the whole policy reads in one place. The bridge enforces it, the web client
// shows only the controls it allows, and the permission test walks it.
// A moderator may take every moderator action its grants allow; a grant
// narrows what anyone may do (a token without `record` cannot record).
import type { Grant, Grants, ParsedRequestData, RequestMethod, Role } from './protocol.ts';

interface AccessRule<M extends RequestMethod> {
  /** The action in words, for the refusal. */
  action: string;
  moderator?: true;
  /** The grants this request needs (some depend on what it asks for). */
  grants?: (data: ParsedRequestData<M>) => readonly Grant[];
}

type AccessRules = { [M in RequestMethod]?: AccessRule<M> };

const always = (...grants: Grant[]) => () => grants;

export const ACCESS_RULES: AccessRules = {
  produce: { action: 'send audio or video', grants: always('publish') },
  subscribe: { action: 'receive the room', grants: always('subscribe') },
  consume: { action: 'receive media', grants: always('subscribe') },
  muteParticipant: { action: 'mute a participant', moderator: true },
  muteAll: { action: 'mute everyone', moderator: true },
  removeParticipant: { action: 'remove a participant', moderator: true },
  setRoomPassword: { action: 'lock or unlock the room', moderator: true },
  setLobby: { action: 'turn the lobby on or off', moderator: true },
  admit: { action: 'admit someone from the lobby', moderator: true },
  deny: { action: 'turn someone away from the lobby', moderator: true },
  promote: { action: 'make someone a moderator', moderator: true },
  endMeeting: { action: 'end the meeting for everyone', moderator: true },
  setE2ee: { action: 'turn end-to-end encryption on or off', moderator: true },
  dialOut: { action: 'invite a phone', moderator: true, grants: always('dialOut') },
  cancelDialOut: { action: 'cancel a phone invitation', moderator: true, grants: always('dialOut') },
  startRecording: {
    action: 'record or stream the meeting',
    moderator: true,
    grants: (d) => [...(d.file ? (['record'] as const) : []), ...(d.streams.length > 0 ? (['stream'] as const) : [])],
  },
  stopRecording: { action: 'stop a recording or stream', moderator: true },
};

/** Why a peer of this role and grants may not take the action, or null if it may. */
export function accessRefusal<M extends RequestMethod>(role: Role, grants: Grants, method: M, data: ParsedRequestData<M>): string | null {
  const rule = ACCESS_RULES[method] as AccessRule<M> | undefined;
  if (!rule) return null;
  if (rule.moderator && role !== 'moderator') return `only moderators may ${rule.action} (${method})`;
  const missing = (rule.grants?.(data) ?? []).filter((grant) => !grants[grant]);
  if (missing.length > 0) return `your join token does not grant ${missing.join(' or ')}, needed to ${rule.action} (${method})`;
  return null;
}
