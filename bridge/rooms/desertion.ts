// When a room has nobody left it is kept for, and what those still in it
// (hidden services) are told: the pure rule, apart from Room so it can be
// tested on its own.
import type { DisconnectReason } from '../../protocol/protocol.ts';

/** What the rule needs of a peer. */
export interface PresentPeer {
  /** Connected to the other bridge serving the room (cascading), mirrored here. */
  readonly remote: boolean;
  /** A recorder or another service: not a participant. */
  readonly hidden: boolean;
}

/**
 * Why the room closes now, or undefined: someone it is kept for is in it.
 * The home keeps the room while anyone is in it, on either bridge (a
 * recorder alone in it stops by its own rules: the room empty for a while).
 * A satellite serves its bridge's participants only: their hidden services
 * do not keep it, or a recorder that joined through this bridge would keep
 * the link and its pipes up for itself after the last of them left. It
 * closes saying it shuts down here, not that the meeting ended, which goes
 * on at the home: a recorder still in it rejoins through the directory (its
 * fallbacks, the home first), lands on the home and records on.
 */
export function desertion(satellite: boolean, peers: Iterable<PresentPeer>): DisconnectReason | undefined {
  const keeps = satellite ? (peer: PresentPeer) => !peer.remote && !peer.hidden : () => true;
  for (const peer of peers) if (keeps(peer)) return undefined;
  return satellite ? 'shuttingDown' : 'roomClosed';
}
