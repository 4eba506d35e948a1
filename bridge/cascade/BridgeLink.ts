import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../common/logger.ts';
import { CASCADE_MAX_MESSAGE_BYTES, parseLinkMessage, type LinkMessage } from '../../protocol/cascade.ts';
import { type DisconnectReason, type NotificationData, type NotificationName, type PeerInfo } from '../../protocol/protocol.ts';
import { TokenBucket } from '../limits/TokenBucket.ts';
import type { ProducerAppData } from '../rooms/Peer.ts';
import type { Producer } from 'mediasoup/types';
import type { Room } from '../rooms/Room.ts';
import { watchLiveness } from './linkLiveness.ts';
import type { ProducerPipes } from './ProducerPipes.ts';
import { RemotePeer } from './RemotePeer.ts';

/** Messages a link may carry per second, with bursts: a room's joins, chat and producers, far below it; a bridge gone wrong, above. */
const LINK_BUDGET = { perSecond: 200, burst: 1000 };
/**
 * Messages kept from before start() at most. What legitimately comes then is
 * the opening's answer and what the home says at once after it (a `produce`
 * per producer of its peers, `entry`): one burst, which the budget above
 * already caps at LINK_BUDGET.burst. More than that means start() stalled
 * while the budget refilled, and the queue would grow by 200 a second.
 */
const EARLY_MAX = LINK_BUDGET.burst;
/** Policy violation (RFC 6455): the other end broke the link's rules. */
const POLICY_CLOSE = 1008;

/**
 * One room's link with another bridge serving it (cascading), once opened
 * (CascadeLinks opens and accepts them): each side tells the other of the
 * peers, chat and producers it has that did not come over this link, and
 * mirrors the other's as remote peers. A satellite has one link, to the home;
 * the home has one per satellite, so it passes each satellite's peers and
 * producers on to the others. The link owns its remote peers and its
 * ProducerPipes. When it closes, the
 * remote peers leave and the pipes close; a satellite's room closes with it,
 * saying it shuts down, so its clients rejoin through the directory (to the
 * home, or a satellite linked afresh), and the room is never left split.
 */
export class BridgeLink {
  readonly #socket: WebSocket;
  readonly #room: Room;
  readonly #pipes: ProducerPipes;
  readonly #hostWaits: { arrived(room: string): void };
  readonly #logger: Logger;
  readonly #budget = new TokenBucket(LINK_BUDGET.perSecond, LINK_BUDGET.burst);
  /** The other bridge's peers, mirrored here. */
  readonly #remote = new Map<string, RemotePeer>();
  /** Set while a message of the other bridge's is applied: what the room tells then came from there. */
  #applying = false;
  #closed = false;
  /** A satellite's: the home's lock and lobby, mirrored (while either is on, new joins go there). */
  #entry = { locked: false, lobby: false };
  /** #lost ran: the socket closed, or we closed it. */
  #gone = false;
  readonly #goneListeners: (() => void)[] = [];
  /** What came before start(): the opening's answer first, then what followed it at once. */
  readonly #early: LinkMessage[] = [];
  #started = false;
  #arrived: (() => void) | undefined;

  /** Listens at once: what the other bridge sends right after its answer to the opening must not be lost. */
  constructor(socket: WebSocket, room: Room, pipes: ProducerPipes, hostWaits: { arrived(room: string): void }, logger: Logger) {
    this.#socket = socket;
    this.#room = room;
    this.#pipes = pipes;
    this.#hostWaits = hostWaits;
    this.#logger = logger;
    this.#socket.on('message', (raw, isBinary) => this.#onMessage(raw, isBinary));
    this.#socket.once('close', () => {
      this.#arrived?.();
      this.#lost();
    });
    watchLiveness(socket, () => this.#logger.warn('the other bridge stopped answering pings: cascade link closed'));
  }

  /** The other bridge's first message (its answer to the opening), or undefined if none came within `timeoutMs` or the link closed. */
  async first(timeoutMs: number): Promise<LinkMessage | undefined> {
    if (this.#early.length === 0 && !this.#closed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.#arrived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#arrived = undefined;
    }
    return this.#early.shift();
  }

  send(message: LinkMessage): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  /** Runs once the link is gone (closed by either side). */
  onGone(listener: () => void): void {
    if (this.#gone) listener();
    else this.#goneListeners.push(listener);
  }

  /** Whether the home guards entry now (a satellite's link): new joins must go to the home. */
  get entryGuarded(): boolean {
    return this.#entry.locked || this.#entry.lobby;
  }

  get room(): Room {
    return this.#room;
  }

  get pipes(): ProducerPipes {
    return this.#pipes;
  }

  /**
   * Starts mirroring, once the opening is done: the other bridge's peers
   * (`theirs`, from the opening), then its messages (those that came early
   * first). Ours so far are told (unless the opening told them: `oursTold`),
   * their producers piped, and then as they come.
   */
  start({ theirs, oursTold }: { theirs: readonly PeerInfo[]; oursTold: boolean }): this {
    this.#started = true;
    for (const peer of theirs) this.#apply({ type: 'peerJoined', peer });
    const onNotification = (name: NotificationName, data: unknown) => this.#forward(name, data);
    const onProducer = (producer: Producer<ProducerAppData>) => this.#pipe(producer);
    const onClosed = (reason: DisconnectReason) => {
      // The home closing the room closes its satellites, whose peers are told the same.
      if (!this.#room.homeBridge) this.send({ type: 'close', reason });
      this.close();
    };
    // The pipes died with the room's routers: the link goes, and the satellite's clients rejoin as after a lost link.
    const onMoved = () => this.close(1000, 'the room moved to another media worker');
    this.#room.on('notification', onNotification);
    this.#room.on('producer', onProducer);
    this.#room.once('closed', onClosed);
    this.#room.once('mediaMoved', onMoved);
    this.#socket.once('close', () => {
      this.#room.off('notification', onNotification);
      this.#room.off('producer', onProducer);
      this.#room.off('closed', onClosed);
      this.#room.off('mediaMoved', onMoved);
    });
    // The other bridge's own (`theirs`, mirrored above) are not told back; the home's other satellites' are.
    for (const peer of this.#room.peers) {
      if (this.#remote.has(peer.id) || peer.hidden) continue;
      if (!oursTold) this.send({ type: 'peerJoined', peer: peer.info() });
      for (const producer of peer.producers.values()) this.#pipe(producer);
    }
    for (const message of this.#early.splice(0)) this.#apply(message);
    return this;
  }

  close(code = 1000, reason = 'room closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close(code, reason);
    this.#lost();
  }

  /** What the room tells its peers, passed on unless it concerns a peer of the other bridge's, which it came from. */
  #forward(name: NotificationName, data: unknown): void {
    if (this.#applying) return;
    if ((name === 'roomLocked' || name === 'lobbyChanged') && !this.#room.homeBridge) {
      this.send(entryOf(this.#room, (data as NotificationData<'roomLocked'>).by));
      return;
    }
    if (name === 'peerJoined' || name === 'peerUpdated') {
      const { peer } = data as NotificationData<'peerJoined'>;
      if (!this.#remote.has(peer.id)) this.send({ type: name, peer });
    } else if (name === 'peerLeft') {
      const { peerId } = data as NotificationData<'peerLeft'>;
      if (!this.#remote.has(peerId)) this.send({ type: 'peerLeft', peerId });
    } else if (name === 'chat') {
      this.send({ type: 'chat', message: (data as NotificationData<'chat'>).message });
    }
  }

  #pipe(producer: Producer<ProducerAppData>): void {
    if (this.#remote.has(producer.appData.peerId)) return; // piped in over this link
    this.#pipes.send(producer, (message) => this.send(message)).catch((error: unknown) => {
      // The producer closed meanwhile: nothing to pipe.
      this.#logger.debug({ err: error, producer: producer.id }, 'producer not piped');
    });
  }

  #onMessage(raw: RawData, isBinary: boolean): void {
    const bytes = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (!this.#budget.take()) return this.#refuse(`more than ${LINK_BUDGET.perSecond} messages per second`);
    if (isBinary || bytes.length > CASCADE_MAX_MESSAGE_BYTES) return this.#refuse('binary or oversized message');
    const parsed = parseLinkMessage(bytes.toString('utf8'));
    if ('error' in parsed) return this.#refuse(parsed.error);
    const { message } = parsed;
    if (this.#started) return this.#apply(message);
    if (this.#early.length >= EARLY_MAX) {
      this.#logger.warn({ queued: this.#early.length }, `cascade link closed: more than ${EARLY_MAX} messages came before it started`);
      return this.close(POLICY_CLOSE, 'too many messages before the link started');
    }
    this.#early.push(message);
    this.#arrived?.();
  }

  #apply(message: LinkMessage): void {
    this.#applying = true;
    try {
      this.#applyNow(message);
    } finally {
      this.#applying = false;
    }
  }

  #applyNow(message: LinkMessage): void {
    switch (message.type) {
      case 'peerJoined': {
        if (this.#remote.has(message.peer.id) || this.#room.getPeer(message.peer.id)) return;
        const peer = new RemotePeer(message.peer);
        if (!this.#room.addRemotePeer(peer)) {
          this.#logger.warn({ peer: peer.id }, 'remote peer not mirrored: the room is full');
          return;
        }
        this.#remote.set(peer.id, peer);
        this.#moderatorArrived(peer);
        return;
      }
      case 'peerUpdated': {
        const peer = this.#remote.get(message.peer.id);
        if (!peer) return;
        peer.update(message.peer);
        this.#room.broadcast('peerUpdated', { peer: peer.info() }, peer);
        this.#moderatorArrived(peer);
        return;
      }
      case 'peerLeft': {
        const peer = this.#remote.get(message.peerId);
        if (!peer) return;
        this.#room.leave(peer);
        this.#remote.delete(peer.id);
        return;
      }
      case 'chat':
        if (this.#remote.has(message.message.peerId)) this.#room.presence.relay(message.message);
        return;
      case 'produce': {
        const peer = this.#remote.get(message.peerId);
        if (peer) void this.#pipes.receive(message, peer);
        return;
      }
      case 'producerPaused':
        this.#pipes.setPaused(message.producerId, message.paused).catch((error: unknown) => {
          // The producer or its worker closed meanwhile: nothing to pause.
          this.#logger.warn({ err: error, producer: message.producerId }, 'cannot pause or resume a piped producer');
        });
        return;
      case 'producerClosed':
        void this.#pipes.closeProducer(message.producerId);
        return;
      case 'close':
        if (this.#room.homeBridge) this.#room.close(message.reason);
        return;
      case 'entry': {
        if (!this.#room.homeBridge) return this.#refuse('only the home says how it guards entry');
        const was = this.#entry;
        this.#entry = { locked: message.locked, lobby: message.lobby };
        // Shown to the participants here as to the home's; enforced by the home alone (joins go there).
        const by = message.by ?? 'A moderator';
        if (was.locked !== message.locked) this.#room.broadcast('roomLocked', { locked: message.locked, by });
        if (was.lobby !== message.lobby) this.#room.broadcast('lobbyChanged', { enabled: message.lobby, by });
        return;
      }
      default:
        // open, opened and refused belong to the opening (CascadeLinks).
        this.#refuse(`unexpected ${message.type}`);
    }
  }

  /** A moderator on the other bridge hosts the room here too: guests of a secure room waiting here come in. */
  #moderatorArrived(peer: RemotePeer): void {
    if (peer.role === 'moderator') this.#hostWaits.arrived(this.#room.name);
  }

  #refuse(why: string): void {
    this.#logger.warn({ why }, 'cascade link closed: the other bridge broke its rules');
    this.close(POLICY_CLOSE, why.slice(0, 120));
  }

  /** The link is gone: the other bridge's peers leave, the pipes close; a satellite's room closes too (once it was started). */
  #lost(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#closed = true;
    this.#pipes.close();
    for (const peer of this.#remote.values()) this.#room.leave(peer);
    this.#remote.clear();
    if (this.#started && this.#room.homeBridge && !this.#room.closed) {
      this.#logger.warn('cascade link to the room\'s home bridge lost: closing the room here, its clients rejoin through the directory');
      this.#room.close('shuttingDown');
    }
    for (const listener of this.#goneListeners.splice(0)) listener();
  }
}

/** Whether the room checks who enters (a lock or its lobby): only its home does, so joins must reach it. */
export function guardsEntry(room: Room): boolean {
  return room.moderation.locked || room.moderation.lobby.enabled;
}

/** The home's `entry` message for its room now; `by`: who changed it, if it just changed. */
export function entryOf(room: Room, by?: string): LinkMessage {
  return { type: 'entry', locked: room.moderation.locked, lobby: room.moderation.lobby.enabled, by };
}
