import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/logger.ts';
import { encodeNotification, type Knock, type NotificationData, type NotificationName } from '../../protocol/protocol.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { Actor, Audience } from './Audience.ts';
import type { Peer } from './Peer.ts';

/** Knocks one room's lobby holds at once: each is a held join, and a stranger could open many sockets. */
export const LOBBY_MAX_KNOCKS = 100;

/** How a knock stopped waiting: the protocol's outcomes, and the room closing under it. */
type Outcome = NotificationData<'knockEnded'>['outcome'] | 'roomClosed';

interface Waiting {
  readonly knock: Knock;
  readonly settle: (outcome: Outcome, by: string | null) => void;
}

/**
 * A room's lobby. While a moderator keeps it on, joins knock here and wait,
 * holding no place in the room and hearing nothing of it, until a moderator
 * admits or denies them, the wait times out, or they go away. Moderators see
 * every knock; a peer made moderator later is shown those still waiting.
 */
export class Lobby {
  readonly #room: Audience;
  readonly #logger: Logger;
  readonly #waiting = new Map<string, Waiting>();
  #enabled = false;

  constructor(room: Audience, logger: Logger) {
    this.#room = room;
    this.#logger = logger;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** What `peer` is shown at join: who waits is for moderators' eyes only. */
  viewFor(peer: Peer): { enabled: boolean; knocks: Knock[] } {
    const knocks = peer.role === 'moderator' ? [...this.#waiting.values()].map((w) => w.knock) : [];
    return { enabled: this.#enabled, knocks };
  }

  /** Turns the lobby on or off (everyone is told); turning it off lets everyone waiting in. */
  setEnabled(by: Actor, enabled: boolean): void {
    if (enabled === this.#enabled) return;
    this.#enabled = enabled;
    this.#logger.info({ enabled, by: by.displayName }, 'lobby turned on or off');
    this.#room.broadcast('lobbyChanged', { enabled, by: by.displayName });
    if (!enabled) this.#decide('admitted', by);
  }

  /**
   * Holds a join until a moderator decides. Resolves when admitted; rejects
   * with `notAdmitted` when denied, `unavailable` when nobody decided within
   * `timeoutMs` or the room closed, and `notJoined` when `gone` aborts.
   */
  knock(who: Pick<Knock, 'displayName' | 'kind'>, timeoutMs: number, gone: AbortSignal): Promise<void> {
    if (this.#waiting.size >= LOBBY_MAX_KNOCKS) {
      throw new RequestError('roomFull', `the lobby of ${this.#room.name} is full (${LOBBY_MAX_KNOCKS} waiting); try again later`);
    }
    const knock: Knock = { id: randomUUID(), displayName: who.displayName, kind: who.kind, since: Date.now() };
    return new Promise<void>((resolve, reject) => {
      const settle = (outcome: Outcome, by: string | null) => {
        if (!this.#waiting.delete(knock.id)) return;
        clearTimeout(timer);
        gone.removeEventListener('abort', abandon);
        this.#logger.info({ knock: knock.id, displayName: knock.displayName, outcome, by }, 'knock ended');
        if (outcome !== 'roomClosed') this.#tellModerators('knockEnded', { knockId: knock.id, outcome, by });
        const refusal = this.#refusal(outcome, timeoutMs);
        if (refusal) reject(refusal);
        else resolve();
      };
      const abandon = () => settle('left', null);
      const timer = setTimeout(() => settle('timedOut', null), timeoutMs);
      gone.addEventListener('abort', abandon, { once: true });
      this.#waiting.set(knock.id, { knock, settle });
      this.#logger.info({ knock: knock.id, displayName: knock.displayName, kind: knock.kind }, 'knocking');
      this.#tellModerators('knocking', { knock });
      if (gone.aborted) abandon();
    });
  }

  /** Lets one knock in, or everyone waiting; returns how many. */
  admit(by: Actor, knockId?: string): number {
    return this.#decide('admitted', by, knockId);
  }

  /** Turns one knock away, or everyone waiting; returns how many. */
  deny(by: Actor, knockId?: string): number {
    return this.#decide('denied', by, knockId);
  }

  /** A peer just became a moderator: it is shown who is waiting. */
  promoted(peer: Peer): void {
    for (const { knock } of this.#waiting.values()) peer.channel.notify('knocking', { knock });
  }

  /** The room closed: every knock is refused. */
  close(): void {
    for (const waiting of [...this.#waiting.values()]) waiting.settle('roomClosed', null);
  }

  #decide(outcome: 'admitted' | 'denied', by: Actor, knockId?: string): number {
    if (knockId === undefined) {
      const all = [...this.#waiting.values()];
      for (const waiting of all) waiting.settle(outcome, by.displayName);
      return all.length;
    }
    const waiting = this.#waiting.get(knockId);
    if (!waiting) throw new RequestError('notFound', `nobody is waiting in the lobby of ${this.#room.name} as ${knockId} (admitted, denied or gone already)`);
    waiting.settle(outcome, by.displayName);
    return 1;
  }

  #refusal(outcome: Outcome, timeoutMs: number): RequestError | undefined {
    const room = this.#room.name;
    switch (outcome) {
      case 'admitted':
        return undefined;
      case 'denied':
        return new RequestError('notAdmitted', `you were not admitted to ${room}`);
      case 'timedOut':
        return new RequestError('unavailable', `nobody let you into ${room} within ${Math.round(timeoutMs / 1000)} s; try again later`);
      case 'left':
        return new RequestError('notJoined', 'connection closed while waiting in the lobby');
      case 'roomClosed':
        return new RequestError('unavailable', `the meeting in ${room} ended while you waited in the lobby`);
    }
  }

  /** Knocks are for moderators' eyes: encoded once, sent to each. */
  #tellModerators<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    const encoded = encodeNotification(name, data);
    for (const peer of this.#room.members()) if (peer.role === 'moderator') peer.channel.send(encoded);
  }
}
