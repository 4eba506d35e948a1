import { grantsSchema, type PeerInfo } from '../../protocol/protocol.ts';
import { Peer, type PeerChannel } from '../rooms/Peer.ts';

/** A remote peer's client is not connected here: what the room tells it reaches it through its own bridge. */
const ELSEWHERE: PeerChannel = {
  notify: () => {},
  send: () => {},
  disconnect: () => {},
  iceServers: () => undefined,
};

/**
 * A participant of the room connected to another bridge that serves it
 * (cascading): mirrored here so this bridge's peers see it, and receive its
 * producers, piped over the link (ProducerPipes adds them). What it shows is
 * what its own bridge last said (`info`); nothing here acts on it.
 */
export class RemotePeer extends Peer {
  #info: PeerInfo;

  constructor(info: PeerInfo) {
    super(info.displayName, info.kind, ELSEWHERE, { role: info.role, grants: grantsSchema.parse({}), autoModerator: false }, false, info.id);
    this.#info = info;
  }

  override get remote(): boolean {
    return true;
  }

  /** Its bridge says its state changed. */
  update(info: PeerInfo): void {
    this.#info = info;
    this.setDisplayName(info.displayName);
    this.setHandRaised(info.handRaised);
    this.setRole(info.role);
    this.setEncrypting(info.encrypting);
  }

  override info(): PeerInfo {
    return this.#info;
  }
}
