import type { Logger } from '../../common/logger.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { Actor, Audience } from './Audience.ts';
import type { Peer } from './Peer.ts';

/**
 * A room's end-to-end encryption (E2EE): whether a moderator turned it on,
 * and who may be in the room while it is. Each browser encrypts every frame
 * with keys the bridge never sees; the bridge only keeps out whoever cannot
 * hold keys (phones, recorders, browsers without encoded transforms) and
 * hands the clients' key messages on unread. What a meeting cannot do while
 * it is on (dial-out, recording) asks `refuse`.
 */
export class EndToEnd {
  readonly #room: Audience;
  readonly #logger: Logger;
  #enabled = false;

  constructor(room: Audience, logger: Logger) {
    this.#room = room;
    this.#logger = logger;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Refuses entry to whoever cannot hold keys while E2EE is on. */
  checkEntry(peer: Peer): void {
    if (!this.#enabled) return;
    const why = cannotHoldKeys(peer);
    if (why) throw new RequestError('encrypted', `This meeting is end-to-end encrypted and cannot be joined ${why}.`);
  }

  /** While E2EE is on, `what` (dial-out, recording, streaming) is refused with the reason. */
  refuse(what: string): void {
    if (this.#enabled) throw new RequestError('encrypted', `This meeting is end-to-end encrypted: ${what} is not possible (the bridge holds no keys).`);
  }

  /**
   * Turns E2EE on (refused, naming them, while anyone who cannot hold keys is in, or `busy` says
   * why not: a recording under way) or off; everyone is told who did it.
   */
  setEnabled(by: Actor, enabled: boolean, busy?: string): void {
    if (enabled === this.#enabled) return;
    if (enabled) {
      const blockers = [...this.#room.members()].filter((peer) => cannotHoldKeys(peer)).map((peer) => describe(peer));
      if (busy) blockers.push(busy);
      if (blockers.length > 0) {
        throw new RequestError('forbidden', `end-to-end encryption cannot be turned on: ${blockers.join('; ')} cannot hold keys`);
      }
    }
    this.#enabled = enabled;
    this.#logger.info({ enabled, by: by.displayName }, 'end-to-end encryption changed');
    this.#room.broadcast('e2eeChanged', { enabled, by: by.displayName });
  }

  /** What the peer says of its own media; everyone sees it (the shield by each name). */
  setEncrypting(peer: Peer, encrypting: boolean): void {
    peer.setEncrypting(encrypting);
    this.#room.announce(peer);
  }

  /** Hands `payload` to another web participant unread (keys travel this way); nothing is kept or logged. */
  relay(from: Peer, to: string, payload: string): void {
    const target = this.#room.getPeer(to);
    if (!target || target === from || target.kind !== 'web') throw new RequestError('notFound', `no web participant ${to} to send a key message to`);
    target.channel.notify('e2eeMessage', { from: from.id, payload });
  }
}

/** Why this peer cannot take part in an encrypted meeting (the end of "cannot be joined ..."), or undefined. */
function cannotHoldKeys(peer: Peer): string | undefined {
  if (peer.kind === 'phone') return 'by phone';
  if (peer.kind === 'recorder') return 'by a recorder';
  if (peer.kind === 'web' && !peer.e2eeCapable) return 'from this browser: it cannot encrypt media (no encoded transforms); use a current Chrome, Edge, Firefox or Safari';
  // Services (a gateway's room listener, monitoring) never decode media the room sends.
  return undefined;
}

function describe(peer: Peer): string {
  if (peer.kind === 'phone') return `the phone caller ${peer.displayName}`;
  if (peer.kind === 'recorder') return 'a recorder';
  return `${peer.displayName}'s browser`;
}
