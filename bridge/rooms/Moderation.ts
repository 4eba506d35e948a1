import type { Logger } from '../../common/logger.ts';
import { sameSecret } from '../../common/sameSecret.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { Actor, Audience } from './Audience.ts';
import { EndToEnd } from './EndToEnd.ts';
import { Lobby } from './Lobby.ts';
import type { Peer } from './Peer.ts';

/**
 * Who may enter a room and what moderators do to the people in it: the lock
 * (a digit password, so phone callers can type it), the lobby, end-to-end encryption, moderator roles, muting,
 * removing and ending the meeting. Entry is decided in `checkEntry`, and
 * every action names the `Actor` taking it. Whether a peer may take an action
 * at all is decided before, in one table (bridge/signaling/accessRules.ts).
 */
export class Moderation {
  readonly #room: Audience;
  readonly #logger: Logger;
  #password: string | null = null;
  /** Where joins wait while a moderator keeps it on. */
  readonly lobby: Lobby;
  /** End-to-end encryption, which a moderator turns on and which keeps out who cannot hold keys. */
  readonly e2ee: EndToEnd;

  constructor(room: Audience, logger: Logger) {
    this.#room = room;
    this.#logger = logger;
    this.lobby = new Lobby(room, logger);
    this.e2ee = new EndToEnd(room, logger);
  }

  get locked(): boolean {
    return this.#password !== null;
  }

  /** What a gateway needs to join on a phone invitation's behalf. */
  get password(): string | null {
    return this.#password;
  }

  /** Refuses entry to a locked room without its password (compared in constant time). */
  checkEntry(password: string | undefined): void {
    if (this.#password === null || (password !== undefined && sameSecret(password, this.#password))) return;
    throw new RequestError(
      'passwordRequired',
      password ? 'wrong password for this locked room' : `room ${this.#room.name} is locked; join with its password`,
    );
  }

  /** Locks the room with a password, or unlocks it (null); everyone is told who did it. */
  setPassword(by: Actor, password: string | null): void {
    this.#password = password;
    this.#logger.info({ locked: password !== null, by: by.displayName }, 'room lock changed');
    this.#room.broadcast('roomLocked', { locked: password !== null, by: by.displayName });
  }

  /** Pauses the participant's microphone and tells them who did it; only they can unmute. */
  async mute(by: Actor, targetId: string): Promise<void> {
    const target = this.#room.getPeer(targetId);
    if (!target || target.hidden) throw new RequestError('notFound', `no participant ${targetId}`);
    refuseRemote(target, 'muted');
    await target.pauseAudio();
    this.#room.announce(target);
    target.channel.notify('mutedByModerator', { by: by.displayName });
  }

  /**
   * Mutes every visible participant of this bridge's but the moderator asking (phones too); each is
   * told. Returns how many were live. Participants on another bridge of the room are muted there.
   */
  async muteAll(by: Peer): Promise<number> {
    const targets = [...this.#room.members()].filter((peer) => peer !== by && !peer.hidden && !peer.remote && peer.micLive);
    await Promise.all(targets.map((peer) => this.mute(by, peer.id)));
    this.#logger.info({ by: by.displayName, muted: targets.length }, 'everyone muted');
    return targets.length;
  }

  /** Whether a moderator is in the room (AUTH_MODE=secure lets guests in only then). */
  get hasModerator(): boolean {
    return [...this.#room.members()].some((peer) => peer.role === 'moderator');
  }

  /** The room's to call as a peer enters, before the others hear of it: the first auto-moderator peer in leads. */
  joined(peer: Peer): void {
    if (peer.autoModerator && peer.role !== 'moderator' && !this.hasModerator) peer.setRole('moderator');
  }

  /**
   * The room's to call once a peer left: without a moderator, the longest present auto-moderator peer becomes one.
   * A moderator on another bridge of the room does not count: it acts only on its own bridge's participants.
   */
  left(peer: Peer): void {
    if (peer.role !== 'moderator' || [...this.#room.members()].some((p) => !p.remote && p.role === 'moderator')) return;
    const successor = [...this.#room.members()]
      .filter((p) => p.autoModerator && !p.hidden)
      .sort((a, b) => a.joinedAt - b.joinedAt)[0];
    if (successor) this.#makeModerator(successor, null);
  }

  /** Makes a web participant a moderator too; it and everyone else are told. */
  promote(by: Actor, targetId: string): void {
    const target = this.#room.getPeer(targetId);
    if (!target || target.kind !== 'web') throw new RequestError('notFound', `no web participant ${targetId} (only web participants can moderate)`);
    refuseRemote(target, 'promoted');
    if (target.role !== 'moderator') this.#makeModerator(target, by.displayName);
  }

  #makeModerator(peer: Peer, by: string | null): void {
    peer.setRole('moderator');
    this.#logger.info({ peer: peer.id, by }, 'moderator appointed');
    this.#room.announce(peer);
    peer.channel.notify('roleChanged', { role: 'moderator', by });
    this.lobby.promoted(peer);
  }

  /** Ends the meeting: everyone is disconnected, told it ended. */
  end(by: Actor): void {
    this.#logger.info({ by: by.displayName }, 'meeting ended by a moderator');
    this.#room.close('meetingEnded');
  }

  /** Takes anyone (services too) out of the room and closes their connection, telling them why. */
  remove(by: Actor, targetId: string): void {
    const target = this.#room.getPeer(targetId);
    if (!target) throw new RequestError('notFound', `no participant ${targetId} in ${this.#room.name}`);
    refuseRemote(target, 'removed');
    this.#room.leave(target);
    target.channel.disconnect('kicked');
    this.#logger.info({ peer: target.id, by: by.displayName }, 'participant removed');
  }
}

/** A peer of another bridge's is mirrored here: acting on it here would only change the mirror. */
function refuseRemote(target: Peer, done: string): void {
  if (target.remote) throw new RequestError('unavailable', `${target.displayName} is connected through another bridge of this room: they can be ${done} only there`);
}
