import { randomUUID } from 'node:crypto';
import type { Consumer, Producer, Transport } from 'mediasoup/types';
import type { RtpCapabilities } from 'mediasoup-client/types';
import {
  grantsSchema,
  type DisconnectReason,
  type Grants,
  type IceServer,
  type MediaKind,
  type MediaSource,
  type NotificationData,
  type NotificationName,
  type PeerInfo,
  type PeerKind,
  type Role,
} from '../../protocol/protocol.ts';
import { RequestError } from '../signaling/RequestError.ts';

/** How the room reaches the peer's client; the signaling socket implements it. */
export interface PeerChannel {
  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void;
  /** Sends a notification already encoded with encodeNotification(). */
  send(encoded: string): void;
  /** Tell the client why, then close its connection. */
  disconnect(reason: DisconnectReason): void;
  /** TURN servers with credentials fresh from now for the peer's client (admitted ones only); undefined: the bridge has no TURN. */
  iceServers(peerId: string): IceServer[] | undefined;
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

const MAX_TRANSPORTS_PER_PEER = 16;
/**
 * Plain transports take ports from the shared MEDIA_PLAIN_PORT range and send
 * where their peer says; a service needs one each way (a phone call sends on
 * one, the gateway's and recorder's room audio receives on one).
 */
const MAX_PLAIN_TRANSPORTS_PER_PEER = 2;

/** What a peer may do in its room; the signaling session decides it at join (from the token and AUTH_MODE). */
export interface PeerAccess {
  role: Role;
  grants: Grants;
  /**
   * Whether the room may make this peer a moderator by itself: the first in, or the longest present when the
   * last moderator leaves. AUTH_MODE=open, for web peers without a token (a token's role is kept).
   */
  autoModerator: boolean;
}

/** Services, phones and anyone the session says nothing about: a participant with the default grants. */
export const PARTICIPANT: PeerAccess = { role: 'participant', grants: grantsSchema.parse({}), autoModerator: false };

/**
 * One participant's (or service's) presence in a room and its media objects.
 * The peer owns its transports, producers and consumers: it adds them, looks
 * them up for its own requests (refusing ids that are not its own), and
 * forgets each when mediasoup closes it; others only read them. The room
 * decides what to create.
 */
export class Peer {
  readonly id: string;
  readonly kind: PeerKind;
  readonly joinedAt = Date.now();
  readonly channel: PeerChannel;
  readonly grants: Grants;
  readonly autoModerator: boolean;
  /** The client said it can encrypt frames end to end (join's `e2eeCapable`). */
  readonly e2eeCapable: boolean;
  #role: Role;
  #displayName: string;
  #handRaised = false;
  #encrypting = false;
  readonly #transports = new Map<string, Transport>();
  readonly #producers = new Map<string, Producer<ProducerAppData>>();
  readonly #consumers = new Map<string, Consumer>();
  #subscription: Subscription | undefined;

  /** `id`: given for a peer of another bridge's (RemotePeer), which keeps its own. */
  constructor(displayName: string, kind: PeerKind, channel: PeerChannel, access: PeerAccess = PARTICIPANT, e2eeCapable = false, id: string = randomUUID()) {
    this.id = id;
    this.#displayName = displayName;
    this.e2eeCapable = e2eeCapable;
    this.kind = kind;
    this.channel = channel;
    this.#role = access.role;
    this.grants = access.grants;
    this.autoModerator = access.autoModerator;
  }

  /** A peer of another bridge serving the room (RemotePeer): mirrored here, acted on only there. */
  get remote(): boolean {
    return false;
  }

  /** Recorders and services (a gateway's room listener) take part invisibly: not listed, not counted as company. */
  get hidden(): boolean {
    return this.kind === 'recorder' || this.kind === 'service';
  }

  get displayName(): string {
    return this.#displayName;
  }

  get role(): Role {
    return this.#role;
  }

  /** Moderation's to call: it tells the peer and the others. */
  setRole(role: Role): void {
    this.#role = role;
  }

  get handRaised(): boolean {
    return this.#handRaised;
  }

  /** Presence's to call: it tells the others. */
  setDisplayName(displayName: string): void {
    this.#displayName = displayName;
  }

  /** Presence's to call: it tells the others. */
  setHandRaised(raised: boolean): void {
    this.#handRaised = raised;
  }

  /** EndToEnd's to call: it tells the others. */
  setEncrypting(encrypting: boolean): void {
    this.#encrypting = encrypting;
  }

  info(): PeerInfo {
    return {
      id: this.id,
      displayName: this.#displayName,
      kind: this.kind,
      role: this.#role,
      handRaised: this.#handRaised,
      joinedAt: this.joinedAt,
      producers: [...this.#producers.values()].map((p) => ({
        id: p.id,
        kind: p.kind,
        source: p.appData.source,
        paused: p.paused,
      })),
      encrypting: this.#encrypting,
    };
  }

  /** Read-only: the peer adds and forgets them. */
  get producers(): ReadonlyMap<string, Producer<ProducerAppData>> {
    return this.#producers;
  }

  /** Read-only: the peer adds and forgets them. */
  get consumers(): ReadonlyMap<string, Consumer> {
    return this.#consumers;
  }

  get subscription(): Subscription | undefined {
    return this.#subscription;
  }

  // -------------------------------------------------------------------------
  // Transports

  /** Refuses before the room asks mediasoup for yet another transport. */
  checkTransportLimit(type: 'webrtc' | 'plain'): void {
    if (this.#transports.size >= MAX_TRANSPORTS_PER_PEER) {
      throw new RequestError('forbidden', `at most ${MAX_TRANSPORTS_PER_PEER} transports per peer`);
    }
    const plain = [...this.#transports.values()].filter((t) => t.type === 'plain' && !t.closed).length;
    if (type === 'plain' && plain >= MAX_PLAIN_TRANSPORTS_PER_PEER) {
      throw new RequestError('forbidden', `at most ${MAX_PLAIN_TRANSPORTS_PER_PEER} plain RTP transports per peer (one to send, one to receive)`);
    }
  }

  addTransport(transport: Transport): void {
    this.#transports.set(transport.id, transport);
    transport.on('routerclose', () => this.#transports.delete(transport.id));
  }

  /** One of this peer's open transports, of the given type if one is named. */
  transport(transportId: string, type?: 'webrtc' | 'plain'): Transport {
    const transport = this.#transports.get(transportId);
    if (!transport || transport.closed) throw new RequestError('notFound', `no transport ${transportId}`);
    if (type && transport.type !== type) {
      throw new RequestError('invalidData', `transport ${transportId} is a ${transport.type} transport, not ${type}`);
    }
    return transport;
  }

  /** Receiving the whole room happens on one transport. */
  subscribe(subscription: Subscription): void {
    if (this.#subscription && !this.#subscription.transport.closed) {
      throw new RequestError('forbidden', 'already subscribed; a peer receives the room on one transport');
    }
    this.#subscription = subscription;
  }

  // -------------------------------------------------------------------------
  // Producers

  isProducing(source: MediaSource): boolean {
    return [...this.#producers.values()].some((p) => p.appData.source === source);
  }

  addProducer(producer: Producer<ProducerAppData>): void {
    this.#producers.set(producer.id, producer);
    producer.on('transportclose', () => this.#producers.delete(producer.id));
  }

  /** One of this peer's producers. */
  producer(producerId: string): Producer<ProducerAppData> {
    const producer = this.#producers.get(producerId);
    if (!producer) throw new RequestError('notFound', `no producer ${producerId} of yours`);
    return producer;
  }

  closeProducer(producerId: string): void {
    this.producer(producerId).close();
    this.#producers.delete(producerId);
  }

  /** Whether a microphone of this peer is sending. */
  get micLive(): boolean {
    return [...this.#producers.values()].some((p) => p.kind === 'audio' && !p.paused);
  }

  /** Pauses every live microphone (a moderator's mute; only the peer resumes them). */
  async pauseAudio(): Promise<void> {
    const live = [...this.#producers.values()].filter((p) => p.kind === 'audio' && !p.paused);
    await Promise.all(live.map((producer) => producer.pause()));
  }

  // -------------------------------------------------------------------------
  // Consumers

  /** `onClosed` runs once when mediasoup closes the consumer with its transport or producer. */
  addConsumer(consumer: Consumer, onClosed: () => void): void {
    this.#consumers.set(consumer.id, consumer);
    const forget = () => {
      if (this.#consumers.delete(consumer.id)) onClosed();
    };
    consumer.on('transportclose', forget);
    consumer.on('producerclose', forget);
  }

  /** One of this peer's consumers. */
  consumer(consumerId: string): Consumer {
    const consumer = this.#consumers.get(consumerId);
    if (!consumer) throw new RequestError('notFound', `no consumer ${consumerId} of yours`);
    return consumer;
  }

  closeConsumer(consumerId: string): void {
    this.consumer(consumerId).close();
    this.#consumers.delete(consumerId);
  }

  // -------------------------------------------------------------------------

  /** Closing the transports closes their producers and consumers too. */
  closeMedia(): void {
    for (const transport of this.#transports.values()) transport.close();
    this.forgetMedia();
  }

  /** After the router died with its worker: everything is already closed. */
  forgetMedia(): void {
    this.#transports.clear();
    this.#producers.clear();
    this.#consumers.clear();
    this.#subscription = undefined;
  }
}
