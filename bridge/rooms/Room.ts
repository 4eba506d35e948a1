import net from 'node:net';
import { EventEmitter } from 'node:events';
import type {
  ActiveSpeakerObserver,
  AudioLevelObserver,
  Consumer,
  PlainTransport,
  Producer,
  Transport,
  WebRtcTransport,
} from 'mediasoup/types';
import type { DtlsParameters, RtpCapabilities, RtpParameters } from 'mediasoup-client/types';
import type { Logger } from '../../common/logger.ts';
import type { MediaWorker, WorkerPool } from '../media/WorkerPool.ts';
import {
  encodeNotification,
  type ConsumerInfo,
  type DisconnectReason,
  type MediaKind,
  type MediaSource,
  type NotificationData,
  type NotificationName,
  type PeerInfo,
  type ResponseData,
} from '../../protocol/protocol.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { Audience } from './Audience.ts';
import { Moderation } from './Moderation.ts';
import type { Peer, ProducerAppData } from './Peer.ts';
import { desertion } from './desertion.ts';
import { Presence } from './Presence.ts';
import { RoomRouters } from './RoomRouters.ts';

export interface MediaNetwork {
  listenIp: string;
  announcedAddress: string;
  /** Where services reach plain transports, if not where they reached our signaling. */
  plainAnnouncedAddress: string | undefined;
  plainPortRange: { min: number; max: number };
}

export interface RoomOptions {
  name: string;
  /** What phone callers enter in the IVR to reach this room. */
  pin: string;
  /** The room's home router goes to its least-loaded worker; receivers may spread to others. */
  pool: WorkerPool;
  network: MediaNetwork;
  maxPeers: number;
  logger: Logger;
  /**
   * Set when this bridge serves the room as a satellite of its home bridge
   * (cascading): the room closes with its last participant of this bridge's, and
   * what the home owns (lock, lobby, E2EE, recordings) is done there.
   */
  homeBridge?: string;
}

/**
 * mediasoup and mediasoup-client declare the same ORTC JSON with different
 * string unions (header extension URIs). The protocol uses mediasoup-client's
 * declarations; values cross to and from mediasoup's here.
 */
function ortc<T>(value: object): T {
  return value as T;
}

/**
 * The address a service is told to send a plain transport's RTP to. The
 * announced address is for browsers and may be a NAT's public one, which a
 * service on the bridge's host or LAN may not reach (no hairpin). A service
 * reaches the bridge's media where it reached the bridge's signaling, when
 * the media listens on every address.
 */
export function plainAddress(network: MediaNetwork, reachedAt: string | undefined): string {
  if (network.plainAnnouncedAddress) return network.plainAnnouncedAddress;
  if (network.listenIp !== '0.0.0.0' && network.listenIp !== '::') return network.listenIp;
  const local = reachedAt?.replace(/^::ffff:/, '');
  // mediasoup's 0.0.0.0 socket is IPv4 only; an IPv6 signaling address is not one it listens on.
  if (local && net.isIPv4(local) === (network.listenIp === '0.0.0.0')) return local;
  return network.announcedAddress;
}

const MAX_SOURCES_PER_PEER = 3; // mic, camera, screen
const MAX_INCOMING_BITRATE = 5_000_000;
/** Browsers connect within a few seconds; ICE failing takes them 10-30 s, so the operator hears first. */
const ICE_SILENCE_WARNING_MS = 10_000;

interface RoomEvents {
  closed: [reason: DisconnectReason];
  /** What was told to everyone (the cascade links forward what concerns this bridge's peers). */
  notification: [name: NotificationName, data: unknown];
  /** A producer of one of this bridge's peers, now consumable (the cascade links pipe it to the other bridges). */
  producer: [producer: Producer<ProducerAppData>];
  /** The room's routers are being rebuilt on another worker (moveTo): what was piped over them is gone. */
  mediaMoved: [];
}

/**
 * A meeting: its mediasoup routers (RoomRouters: a home router with the
 * senders and the audio observers, and routers on other workers its
 * receivers spread to), and the peers in it. Created on first join, closed
 * when the last peer leaves. The room owns media and membership; what
 * participants show each other is its `presence`, who may enter and what
 * moderators do is its `moderation`.
 */
export class Room extends EventEmitter<RoomEvents> {
  readonly name: string;
  readonly createdAt = Date.now();
  readonly presence: Presence;
  readonly moderation: Moderation;
  readonly #options: RoomOptions;
  readonly #logger: Logger;
  readonly #peers = new Map<string, Peer>();
  #routers!: RoomRouters;
  #activeSpeakerObserver!: ActiveSpeakerObserver;
  #audioLevelObserver!: AudioLevelObserver;
  #activeSpeakerId: string | null = null;
  #closed = false;
  /** The other bridges serving the room with this one now (cascade links, either way). */
  readonly #linkedBridges = new Set<string>();
  /** The move under way, if any (moveTo). */
  #moving: Promise<void> = Promise.resolve();
  /** A satellite's: its home's PIN, once linked (showHomePin). */
  #homePin: string | undefined;

  private constructor(options: RoomOptions) {
    super();
    this.name = options.name;
    this.#options = options;
    this.#logger = options.logger.child({ room: options.name });
    const audience: Audience = {
      name: this.name,
      broadcast: (name, data, except) => this.broadcast(name, data, except),
      announce: (peer) => this.#announce(peer),
      getPeer: (peerId) => this.getPeer(peerId),
      members: () => this.#peers.values(),
      leave: (peer) => this.leave(peer),
      close: (reason) => this.close(reason),
    };
    this.presence = new Presence(audience);
    this.moderation = new Moderation(audience, this.#logger);
  }

  static async create(options: RoomOptions): Promise<Room> {
    const room = new Room(options);
    try {
      await room.#createMedia(options.pool.leastLoaded());
    } catch (error) {
      room.#routers?.close(); // the router may exist, and be its worker's tenant, though its observers failed
      throw error;
    }
    room.#logger.info({ worker: room.worker.index }, 'room created');
    return room;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The room's home bridge when this bridge serves it as a satellite (see RoomOptions.homeBridge). */
  get homeBridge(): string | undefined {
    return this.#options.homeBridge;
  }

  /** What phone callers enter in the IVR to reach this room: its own (RoomPins hands them out), or a satellite's home's once linked. */
  get pin(): string {
    return this.#homePin ?? this.#options.pin;
  }

  /**
   * A satellite shows its home's PIN, so the meeting has one on every bridge.
   * Its own stays reserved until it closes: a caller who had it still reaches
   * the meeting.
   */
  showHomePin(pin: string): void {
    if (this.homeBridge !== undefined) this.#homePin = pin;
  }

  /** The other bridges serving the room with this one now: what the home owns (E2EE, recording) is refused while there are any. */
  get linkedBridges(): ReadonlySet<string> {
    return this.#linkedBridges;
  }

  /** A cascade link with `bridge` opened (true) or closed (false). */
  setLinked(bridge: string, linked: boolean): void {
    if (linked) this.#linkedBridges.add(bridge);
    else this.#linkedBridges.delete(bridge);
  }

  /** Its peers of this bridge's: what the room weighs on its home worker. */
  get load(): number {
    return this.#localPeers().length;
  }

  /** Closes the room when nobody it is kept for is in it, telling those still in it why (see desertion). */
  closeIfDeserted(): void {
    const reason = desertion(this.homeBridge !== undefined, this.#peers.values());
    if (reason) this.close(reason);
  }

  #localPeers(): Peer[] {
    return [...this.#peers.values()].filter((peer) => !peer.remote);
  }

  /** The home router's worker. */
  get worker(): MediaWorker {
    return this.#routers.home.mediaWorker;
  }

  /** The room's routers (tests and benchmarks look at where receivers went). */
  get routers(): RoomRouters {
    return this.#routers;
  }

  /** Whether the room has (or had, if it died) a router on this worker. */
  usesWorker(mediaWorker: MediaWorker): boolean {
    return this.#routers.onWorker(mediaWorker);
  }

  /** Every router of the room has the same capabilities (one codec list). */
  get routerRtpCapabilities(): RtpCapabilities {
    return ortc(this.#routers.home.router.rtpCapabilities);
  }

  get activeSpeakerId(): string | null {
    return this.#activeSpeakerId;
  }

  /** Enough to receive every source of every other participant. */
  get #maxConsumersPerPeer(): number {
    return this.#options.maxPeers * MAX_SOURCES_PER_PEER;
  }

  /** Everyone, hidden peers included. */
  get peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /** What participants see of each other (recorders are hidden). */
  visiblePeers(except?: Peer): PeerInfo[] {
    return [...this.#peers.values()].filter((p) => !p.hidden && p !== except).map((p) => p.info());
  }

  getPeer(peerId: string): Peer | undefined {
    return this.#peers.get(peerId);
  }

  counts(): { peers: number; producers: number; consumers: number } {
    let producers = 0;
    let consumers = 0;
    for (const peer of this.#peers.values()) {
      producers += peer.producers.size;
      consumers += peer.consumers.size;
    }
    return { peers: this.#peers.size, producers, consumers };
  }

  // -------------------------------------------------------------------------
  // Membership

  join(peer: Peer, password?: string): void {
    if (this.#closed) throw new RequestError('notFound', 'the room has just closed; join again');
    this.moderation.checkEntry(password);
    this.moderation.e2ee.checkEntry(peer);
    if (!peer.hidden && this.visiblePeers().length >= this.#options.maxPeers) {
      throw new RequestError('roomFull', `room ${this.name} is full (${this.#options.maxPeers} participants)`);
    }
    this.moderation.joined(peer);
    this.#peers.set(peer.id, peer);
    this.#logger.info({ peer: peer.id, kind: peer.kind, role: peer.role, displayName: peer.displayName }, 'peer joined');
    if (!peer.hidden) this.broadcast('peerJoined', { peer: peer.info() }, peer);
  }

  /**
   * A participant of another bridge serving the room, mirrored here: the
   * room's entry rules were applied there, but not the count of everyone
   * (false: full, closed, or that id is taken; not mirrored).
   */
  addRemotePeer(peer: Peer): boolean {
    if (this.#closed || this.#peers.has(peer.id) || this.visiblePeers().length >= this.#options.maxPeers) return false;
    this.#peers.set(peer.id, peer);
    this.#logger.info({ peer: peer.id, displayName: peer.displayName }, 'remote peer joined');
    this.broadcast('peerJoined', { peer: peer.info() }, peer);
    return true;
  }

  leave(peer: Peer): void {
    if (!this.#peers.delete(peer.id)) return;
    peer.closeMedia();
    this.#logger.info({ peer: peer.id }, 'peer left');
    if (!peer.hidden) this.broadcast('peerLeft', { peerId: peer.id });
    this.moderation.left(peer);
    if (this.#activeSpeakerId === peer.id) this.#setActiveSpeaker(null);
    // A satellite closes with the last of its own participants, never as the home's leave: it may just have been made for a join.
    if (this.homeBridge === undefined || !peer.remote) this.closeIfDeserted();
  }

  /** Disconnects everyone (telling them why) and releases the router. */
  close(reason: DisconnectReason = 'roomClosed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.moderation.lobby.close();
    for (const peer of this.#peers.values()) {
      peer.closeMedia();
      peer.channel.disconnect(reason);
    }
    this.#peers.clear();
    this.#routers.close();
    this.#logger.info('room closed');
    this.emit('closed', reason);
  }

  /**
   * Rebuilds the media side with its home on another worker after one of its
   * workers died. Peers, chat and hands stay; every client is told to set its
   * media up again. Routers on live workers go too: a client rebuilds all its
   * transports.
   */
  async moveTo(mediaWorker: MediaWorker): Promise<void> {
    // One move at a time: two workers of the room may die together, and a second move
    // starting while the first builds would leave the first's routers open.
    const move = this.#moving.then(() => this.#move(mediaWorker));
    this.#moving = move.catch(() => undefined);
    return move;
  }

  async #move(mediaWorker: MediaWorker): Promise<void> {
    if (this.#closed) return;
    this.emit('mediaMoved');
    if (this.#closed) return; // a satellite closes with its link
    // Forgotten first, so closing the live routers tells no client of closed consumers.
    for (const peer of this.#peers.values()) peer.forgetMedia();
    this.#routers.close();
    this.#activeSpeakerId = null;
    await this.#createMedia(mediaWorker);
    if (this.#closed) {
      this.#routers.close(); // closed while the new routers were being made
      return;
    }
    this.#logger.warn({ worker: mediaWorker.index }, 'room moved to another media worker');
    // To each its own TURN credentials, fresh: the join's may have expired, and the new transports need them.
    for (const peer of this.#peers.values()) {
      peer.channel.notify('mediaRestart', { routerRtpCapabilities: this.routerRtpCapabilities, iceServers: peer.channel.iceServers(peer.id) });
    }
    for (const peer of this.#peers.values()) this.#announce(peer);
  }

  // -------------------------------------------------------------------------
  // Transports

  async createWebRtcTransport(peer: Peer, direction: 'send' | 'recv'): Promise<ResponseData<'createWebRtcTransport'>> {
    peer.checkTransportLimit('webrtc');
    // Sending stays home, by the audio observers; receiving may spread.
    const { router, mediaWorker } = direction === 'send' ? this.#routers.home : await this.#routers.forReceiver();
    const transport = await router.createWebRtcTransport({
      webRtcServer: mediaWorker.webRtcServer,
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: 1_000_000,
      appData: { peerId: peer.id, direction },
    });
    if (direction === 'send') await transport.setMaxIncomingBitrate(MAX_INCOMING_BITRATE);
    this.#adoptTransport(peer, transport);
    return {
      id: transport.id,
      iceParameters: transport.iceParameters,
      iceCandidates: ortc(transport.iceCandidates),
      dtlsParameters: ortc(transport.dtlsParameters),
    };
  }

  async connectWebRtcTransport(peer: Peer, transportId: string, dtlsParameters: DtlsParameters): Promise<void> {
    const transport = peer.transport(transportId, 'webrtc') as WebRtcTransport;
    await transport.connect({ dtlsParameters: ortc(dtlsParameters) });
    this.#watchIce(peer, transport);
  }

  /**
   * Tells the operator when a browser cannot reach the media ports: it then
   * sees black tiles while everything else about the bridge looks healthy.
   * The browser starts ICE as soon as it has connected the transport, so no
   * ICE by then means its checks never arrived at the announced addresses.
   */
  #watchIce(peer: Peer, transport: WebRtcTransport): void {
    const context = (tuple = transport.iceSelectedTuple) => ({
      peer: peer.id,
      displayName: peer.displayName,
      direction: (transport.appData as { direction?: string }).direction,
      announced: transport.iceCandidates.map((c) => `${c.protocol} ${c.address}:${c.port}`),
      remote: tuple && `${tuple.protocol} ${tuple.remoteIp}:${tuple.remotePort}`,
    });
    const timer = setTimeout(() => {
      if (transport.closed || transport.iceState !== 'new') return;
      this.#logger.warn(
        context(),
        `no ICE from the browser ${ICE_SILENCE_WARNING_MS / 1000} s after it connected its transport: it cannot reach ` +
          'the announced media addresses (check MEDIA_ANNOUNCED_ADDRESS and that these ports are open to it)',
      );
    }, ICE_SILENCE_WARNING_MS);
    transport.observer.once('close', () => clearTimeout(timer));
    transport.on('icestatechange', (state) => {
      if (state === 'disconnected') this.#logger.warn(context(), 'the browser stopped answering ICE (media connection lost)');
    });
    transport.on('dtlsstatechange', (state) => {
      if (state === 'failed') this.#logger.warn(context(), 'DTLS with the browser failed (media connection not secured)');
    });
  }

  async restartIce(peer: Peer, transportId: string): Promise<ResponseData<'restartIce'>> {
    const transport = peer.transport(transportId, 'webrtc') as WebRtcTransport;
    // A restart is when the path dropped: the join's TURN credentials may have expired since (coturn checks at allocation).
    return { iceParameters: await transport.restartIce(), iceServers: peer.channel.iceServers(peer.id) };
  }

  /** `reachedAt`: the address of ours the service's signaling connected to. */
  async createPlainTransport(
    peer: Peer,
    options: { comedia: boolean; rtcpMux: boolean },
    reachedAt: string | undefined,
  ): Promise<ResponseData<'createPlainTransport'>> {
    // Every other kind presented SERVICE_SECRET to join.
    if (peer.kind === 'web') throw new RequestError('forbidden', 'plain RTP transports are for services (which present SERVICE_SECRET)');
    peer.checkTransportLimit('plain');
    const { listenIp, plainPortRange } = this.#options.network;
    // Services may send and receive on one plain transport: placed as a receiver, its producers are piped home.
    const { router } = await this.#routers.forReceiver();
    const transport = await router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: listenIp, announcedAddress: plainAddress(this.#options.network, reachedAt), portRange: plainPortRange },
      rtcpMux: options.rtcpMux,
      comedia: options.comedia,
      appData: { peerId: peer.id },
    });
    this.#adoptTransport(peer, transport);
    return {
      id: transport.id,
      ip: transport.tuple.localAddress,
      port: transport.tuple.localPort,
      rtcpPort: transport.rtcpTuple?.localPort,
    };
  }

  async connectPlainTransport(
    peer: Peer,
    transportId: string,
    remote: { ip: string; port: number; rtcpPort?: number },
  ): Promise<void> {
    const transport = peer.transport(transportId, 'plain') as PlainTransport;
    await transport.connect(remote);
  }

  // -------------------------------------------------------------------------
  // Producing

  async produce(
    peer: Peer,
    request: { transportId: string; kind: MediaKind; source: MediaSource; rtpParameters: RtpParameters; paused: boolean },
  ): Promise<string> {
    const transport = peer.transport(request.transportId);
    if ((request.source === 'mic') !== (request.kind === 'audio')) {
      throw new RequestError('invalidData', `a ${request.source} producer cannot carry ${request.kind}`);
    }
    const duplicate = () => new RequestError('forbidden', `already producing ${request.source}; close that producer first`);
    if (peer.isProducing(request.source)) throw duplicate();
    const producer = await transport.produce<ProducerAppData>({
      kind: request.kind,
      rtpParameters: ortc(request.rtpParameters),
      paused: request.paused,
      appData: { peerId: peer.id, source: request.source },
    });
    // Things may have changed while mediasoup was busy.
    if (!this.#peers.has(peer.id) || peer.isProducing(request.source)) {
      producer.close();
      throw this.#peers.has(peer.id) ? duplicate() : new RequestError('notJoined', 'left the room');
    }
    await this.#adoptProducer(peer, producer);
    this.emit('producer', producer);
    return producer.id;
  }

  /**
   * A remote peer's producer, piped here from its bridge (on a pipe transport
   * of the home router): consumed and observed as the room's own are.
   */
  async addRemoteProducer(peer: Peer, producer: Producer<ProducerAppData>): Promise<void> {
    if (!this.#peers.has(peer.id)) {
      producer.close();
      return;
    }
    // The other bridge is held to what a client is: one producer per source, so at most MAX_SOURCES_PER_PEER.
    const { source } = producer.appData;
    if (peer.isProducing(source) || peer.producers.size >= MAX_SOURCES_PER_PEER || (source === 'mic') !== (producer.kind === 'audio')) {
      this.#logger.warn({ peer: peer.id, source, kind: producer.kind }, 'piped producer refused: a second one of its source, too many, or the wrong kind');
      producer.close();
      return;
    }
    this.#routers.adoptOrigin(producer);
    await this.#adoptProducer(peer, producer);
    // A home's other links pipe it on to their satellites.
    this.emit('producer', producer);
  }

  async #adoptProducer(peer: Peer, producer: Producer<ProducerAppData>): Promise<void> {
    peer.addProducer(producer);
    if (producer.kind === 'audio') {
      await this.#routers
        .bring(producer, this.#routers.home)
        .then(() =>
          Promise.all([
            this.#activeSpeakerObserver.addProducer({ producerId: producer.id }),
            this.#audioLevelObserver.addProducer({ producerId: producer.id }),
          ]),
        )
        .catch((error) => this.#logger.warn({ err: error }, 'cannot observe audio producer'));
    }
    this.#announce(peer);
    for (const other of this.#peers.values()) {
      if (other !== peer && other.subscription) void this.#consumeFor(other, producer);
    }
  }

  closeProducer(peer: Peer, producerId: string): void {
    peer.closeProducer(producerId);
    this.#announce(peer);
  }

  async setProducerPaused(peer: Peer, producerId: string, paused: boolean): Promise<void> {
    const producer = peer.producer(producerId);
    if (paused) await producer.pause();
    else await producer.resume();
    this.#announce(peer);
  }

  // -------------------------------------------------------------------------
  // Consuming

  async subscribe(
    peer: Peer,
    request: { transportId: string; rtpCapabilities: RtpCapabilities; kinds: readonly MediaKind[] },
  ): Promise<void> {
    const transport = peer.transport(request.transportId);
    peer.subscribe({ transport, rtpCapabilities: request.rtpCapabilities, kinds: request.kinds });
    const existing = [...this.#peers.values()].filter((p) => p !== peer).flatMap((p) => [...p.producers.values()]);
    await Promise.all(existing.map((producer) => this.#consumeFor(peer, producer)));
  }

  async consume(
    peer: Peer,
    request: { transportId: string; producerId: string; rtpCapabilities: RtpCapabilities; paused: boolean },
  ): Promise<ConsumerInfo> {
    const transport = peer.transport(request.transportId);
    if (peer.consumers.size >= this.#maxConsumersPerPeer) {
      throw new RequestError('forbidden', `at most ${this.#maxConsumersPerPeer} consumers per peer`);
    }
    const producer = this.#findProducer(request.producerId);
    if (!producer) throw new RequestError('notFound', `no producer ${request.producerId} in this room`);
    if (!this.#routers.canConsume(producer.id, ortc(request.rtpCapabilities))) {
      throw new RequestError('mediaError', `the given rtpCapabilities cannot receive producer ${producer.id}`);
    }
    await this.#routers.bring(producer, this.#routers.routerOf(transport));
    const consumer = await transport.consume({
      producerId: producer.id,
      rtpCapabilities: ortc(request.rtpCapabilities),
      paused: request.paused,
    });
    return this.#adoptConsumer(peer, consumer, producer);
  }

  async resumeConsumer(peer: Peer, consumerId: string): Promise<void> {
    await peer.consumer(consumerId).resume();
  }

  closeConsumer(peer: Peer, consumerId: string): void {
    peer.closeConsumer(consumerId);
  }

  async setPreferredLayers(
    peer: Peer,
    request: { consumerId: string; spatialLayer: number; temporalLayer?: number },
  ): Promise<void> {
    const consumer = peer.consumer(request.consumerId);
    if (consumer.type !== 'simulcast' && consumer.type !== 'svc') return; // nothing to choose from
    await consumer.setPreferredLayers({ spatialLayer: request.spatialLayer, temporalLayer: request.temporalLayer });
  }

  // -------------------------------------------------------------------------
  // Telling everyone

  /** Everyone in the room (hidden peers included) but `except`: room events and what the bridge's services report. */
  broadcast<N extends NotificationName>(name: N, data: NotificationData<N>, except?: Peer): void {
    const encoded = encodeNotification(name, data);
    for (const peer of this.#peers.values()) {
      if (peer !== except) peer.channel.send(encoded);
    }
    this.emit('notification', name, data);
  }

  /** Tells everyone else that this peer's visible state changed. */
  #announce(peer: Peer): void {
    if (!peer.hidden) this.broadcast('peerUpdated', { peer: peer.info() }, peer);
  }

  // -------------------------------------------------------------------------

  async #createMedia(mediaWorker: MediaWorker): Promise<void> {
    // Pipes between the room's routers take loopback ports from the plain-RTP range.
    this.#routers = await RoomRouters.create(this.#options.pool, mediaWorker, this, this.#logger, this.#options.network.plainPortRange);
    const { router } = this.#routers.home;
    this.#activeSpeakerObserver = await router.createActiveSpeakerObserver({ interval: 300 });
    this.#audioLevelObserver = await router.createAudioLevelObserver({ interval: 250, threshold: -70, maxEntries: 16 });
    this.#activeSpeakerObserver.on('dominantspeaker', ({ producer }) => {
      this.#setActiveSpeaker((producer.appData as ProducerAppData).peerId);
    });
    this.#audioLevelObserver.on('volumes', (volumes) => {
      const levels = volumes.map(({ producer, volume }) => ({
        peerId: (producer.appData as ProducerAppData).peerId,
        volume,
      }));
      this.broadcast('audioLevels', { levels });
    });
    this.#audioLevelObserver.on('silence', () => this.broadcast('audioLevels', { levels: [] }));
  }

  #setActiveSpeaker(peerId: string | null): void {
    if (this.#activeSpeakerId === peerId) return;
    this.#activeSpeakerId = peerId;
    this.broadcast('activeSpeaker', { peerId });
  }

  async #consumeFor(peer: Peer, producer: Producer<ProducerAppData>): Promise<void> {
    const subscription = peer.subscription;
    if (!subscription || subscription.transport.closed || !subscription.kinds.includes(producer.kind)) return;
    if (!this.#routers.canConsume(producer.id, ortc(subscription.rtpCapabilities))) {
      this.#logger.debug({ peer: peer.id, producer: producer.id }, 'peer cannot receive producer codec');
      return;
    }
    try {
      await this.#routers.bring(producer, this.#routers.routerOf(subscription.transport));
      const consumer = await subscription.transport.consume({
        producerId: producer.id,
        rtpCapabilities: ortc(subscription.rtpCapabilities),
        paused: true, // the client resumes once its side is ready (no lost keyframe)
      });
      const info = this.#adoptConsumer(peer, consumer, producer);
      peer.channel.notify('newConsumer', { consumer: info });
    } catch (error) {
      // The producer or the transport closed meanwhile: nothing to deliver.
      this.#logger.debug({ err: error, peer: peer.id, producer: producer.id }, 'consume skipped');
    }
  }

  #adoptConsumer(peer: Peer, consumer: Consumer, producer: Producer<ProducerAppData>): ConsumerInfo {
    peer.addConsumer(consumer, () => {
      if (this.#peers.has(peer.id)) peer.channel.notify('consumerClosed', { consumerId: consumer.id });
    });
    return {
      id: consumer.id,
      producerId: producer.id,
      peerId: producer.appData.peerId,
      kind: consumer.kind,
      source: producer.appData.source,
      rtpParameters: ortc(consumer.rtpParameters),
      producerPaused: consumer.producerPaused,
    };
  }

  #adoptTransport(peer: Peer, transport: Transport): void {
    if (!this.#peers.has(peer.id)) {
      transport.close();
      throw new RequestError('notJoined', 'left the room');
    }
    peer.addTransport(transport);
  }

  #findProducer(producerId: string): Producer<ProducerAppData> | undefined {
    for (const peer of this.#peers.values()) {
      const producer = peer.producers.get(producerId);
      if (producer) return producer;
    }
    return undefined;
  }
}
