import type { DisconnectReason, NotificationData, NotificationName } from '../../protocol/protocol.ts';
import type { Peer } from './Peer.ts';

/**
 * The room as its parts (presence, moderation) see it: the people in it and
 * how to tell them things. The room owns its members; the parts act on them
 * only through this.
 */
export interface Audience {
  readonly name: string;
  /** Everyone in the room, hidden peers included, but `except`. */
  broadcast<N extends NotificationName>(name: N, data: NotificationData<N>, except?: Peer): void;
  /** Tells everyone else that this peer's visible state changed. */
  announce(peer: Peer): void;
  /** Anyone in the room, hidden peers included. */
  getPeer(peerId: string): Peer | undefined;
  /** Everyone in the room, hidden peers included. */
  members(): Iterable<Peer>;
  /** Takes the peer out of the room (its connection stays). */
  leave(peer: Peer): void;
  /** Disconnects everyone, telling them why, and closes the room. */
  close(reason: DisconnectReason): void;
}

/** Who acts on the room: a participant, or the operator over REST. Others see the name. */
export interface Actor {
  readonly displayName: string;
}
