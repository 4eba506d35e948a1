import { randomUUID } from 'node:crypto';
import type { Consumer, Producer, Transport } from 'mediasoup/types';
import type { RtpCapabilities } from 'mediasoup-client/types';
import type {
  DisconnectReason,
  MediaKind,
  MediaSource,
  NotificationData,
  NotificationName,
  PeerInfo,
  PeerKind,
} from '../../protocol/protocol.ts';

/** How the room reaches the peer's client; the signaling socket implements it. */
export interface PeerChannel {
  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void;
  /** Sends a notification already encoded with encodeNotification(). */
  send(encoded: string): void;
  /** Tell the client why, then close its connection. */
  disconnect(reason: DisconnectReason): void;
}

export interface ProducerAppData extends Record<string, unknown> {
  peerId: string;
  source: MediaSource;
}

/** Where a peer receives everything in the room (see the `subscribe` request). */
export interface Subscription {
  transport: Transport;
  rtpCapabilities: RtpCapabilities;
  kinds: readonly MediaKind[];
}

/** One participant's (or service's) presence in a room and its media objects. */
export class Peer {
  readonly id = randomUUID();
  readonly kind: PeerKind;
  readonly joinedAt = Date.now();
  readonly channel: PeerChannel;
  displayName: string;
  handRaised = false;
  readonly transports = new Map<string, Transport>();
  readonly producers = new Map<string, Producer<ProducerAppData>>();
  readonly consumers = new Map<string, Consumer>();
  subscription: Subscription | undefined;

  constructor(displayName: string, kind: PeerKind, channel: PeerChannel) {
    this.displayName = displayName;
    this.kind = kind;
    this.channel = channel;
  }

  /** Recorders and services (a gateway's room listener) take part invisibly: not listed, not counted as company. */
  get hidden(): boolean {
    return this.kind === 'recorder' || this.kind === 'service';
  }

  info(): PeerInfo {
    return {
      id: this.id,
      displayName: this.displayName,
      kind: this.kind,
      handRaised: this.handRaised,
      joinedAt: this.joinedAt,
      producers: [...this.producers.values()].map((p) => ({
        id: p.id,
        kind: p.kind,
        source: p.appData.source,
        paused: p.paused,
      })),
    };
  }

  /** Closing the transports closes their producers and consumers too. */
  closeMedia(): void {
    for (const transport of this.transports.values()) transport.close();
    this.forgetMedia();
  }

  /** After the router died with its worker: everything is already closed. */
  forgetMedia(): void {
    this.transports.clear();
    this.producers.clear();
    this.consumers.clear();
    this.subscription = undefined;
  }
}
