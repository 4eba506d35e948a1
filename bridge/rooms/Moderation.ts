import type { Logger } from '../../common/logger.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { Actor, Audience } from './Audience.ts';

/**
 * Who may enter a room and what moderators do to the people in it: the lock
 * (a digit password, so phone callers can type it), muting and removing.
 * Moderator roles, the lobby and join tokens belong here too: entry is
 * decided in `checkEntry`, and every action names the `Actor` taking it.
 */
export class Moderation {
  readonly #room: Audience;
  readonly #logger: Logger;
  #password: string | null = null;

  constructor(room: Audience, logger: Logger) {
    this.#room = room;
    this.#logger = logger;
  }

  get locked(): boolean {
    return this.#password !== null;
  }

  /** What a gateway needs to join on a phone invitation's behalf. */
  get password(): string | null {
    return this.#password;
  }

  /** Refuses entry to a locked room without its password. */
  checkEntry(password: string | undefined): void {
    if (this.#password === null || password === this.#password) return;
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
    await target.pauseAudio();
    this.#room.announce(target);
    target.channel.notify('mutedByModerator', { by: by.displayName });
  }

  /** Takes anyone (services too) out of the room and closes their connection, telling them why. */
  remove(by: Actor, targetId: string): void {
    const target = this.#room.getPeer(targetId);
    if (!target) throw new RequestError('notFound', `no participant ${targetId} in ${this.#room.name}`);
    this.#room.leave(target);
    target.channel.disconnect('kicked');
    this.#logger.info({ peer: target.id, by: by.displayName }, 'participant removed');
  }
}
