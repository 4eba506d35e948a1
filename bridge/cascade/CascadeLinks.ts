import type tls from 'node:tls';
import { WebSocket } from 'ws';
import type { Logger } from '../../common/logger.ts';
import { CASCADE_LINK_PATH, CASCADE_MAX_MESSAGE_BYTES, parseLinkMessage, type LinkMessage } from '../../protocol/cascade.ts';
import type { BridgeDirectory } from '../directory/BridgeDirectory.ts';
import type { BridgeRecord } from '../directory/placement.ts';
import type { MediaNetwork, Room } from '../rooms/Room.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import { BridgeLink, entryOf, guardsEntry } from './BridgeLink.ts';
import { linkToken, LinkTokenReplays, verifyLinkToken, type LinkClaim } from './linkToken.ts';
import { ProducerPipes } from './ProducerPipes.ts';
import { linkRefusal, spanReason } from './spanning.ts';

/** How long either side waits for the other's answer to the opening: a join waits on it. */
const OPENING_TIMEOUT_MS = 5000;

export interface CascadeLinksOptions {
  registry: RoomRegistry;
  directory: BridgeDirectory;
  network: MediaNetwork;
  /** How the link checks the home's certificate (BRIDGE_CA_FILE, BRIDGE_TLS_INSECURE: bridgeToBridge). */
  otherBridges: tls.ConnectionOptions;
  /** The deployment's shared secret (API_SECRET): links are authenticated with a key derived from it. */
  secret: string;
  /** This bridge's load and capacity now (capacity 0 while draining). */
  here: () => { load: number; capacity: number };
  /** Guests of a secure room waiting for a moderator (AUTH_MODE=secure): one arriving on the other bridge lets them in too. */
  hostWaits: { arrived(room: string): void };
  logger: Logger;
}

/** Why a link was refused before it opened: the status and what the caller is told. */
export interface LinkRefusal {
  status: 401 | 403 | 429;
  message: string;
}

/**
 * This bridge's cascade links, one per (room, other bridge): as a satellite,
 * it opens one to the room's home when a join calls for it (spanReason); as a
 * home, it accepts them (CASCADE_LINK_PATH) from bridges the directory lists
 * as live. Owns the links; each link owns its remote peers and pipes.
 */
export class CascadeLinks {
  readonly #options: CascadeLinksOptions;
  readonly #logger: Logger;
  /** By room and other bridge. */
  readonly #links = new Map<string, BridgeLink>();
  /** The home's URL of each room served here as a satellite. */
  readonly #homes = new Map<string, string>();
  /** Satellite rooms being linked, by name: a burst of joins opens one link. */
  readonly #opening = new Map<string, Promise<boolean>>();
  /** Link tokens taken lately: each opens one link. */
  readonly #replays = new LinkTokenReplays();

  constructor(options: CascadeLinksOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  /**
   * Whether this bridge serves `room` (homed on `home`, another live bridge)
   * for a join with this region hint, as a satellite linked to the home: made
   * and linked now if it is not yet. False: the join is sent to the home.
   */
  async serve(room: string, home: BridgeRecord, clientRegion: string | undefined): Promise<boolean> {
    const reason = spanReason({ region: this.#options.directory.region, ...this.#options.here() }, home, clientRegion);
    if (!reason) return false;
    let opening = this.#opening.get(room);
    if (!opening) {
      opening = this.#openSatellite(room, home, reason).finally(() => this.#opening.delete(room));
      this.#opening.set(room, opening);
    }
    return opening;
  }

  /** Checks a link's caller before its socket opens: a token of ours, for this bridge, not seen before, naming a live bridge of the directory's. */
  check(authorization: string | undefined): LinkClaim | LinkRefusal {
    const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
    const claim = token && verifyLinkToken(this.#options.secret, token, this.#options.directory.id);
    if (!claim) return { status: 401, message: 'cascade links are for the bridges of this deployment: no valid link token for this bridge' };
    if (!this.#options.directory.liveBridge(claim.bridge)) return { status: 403, message: `bridge ${claim.bridge} is not live in the room directory` };
    const replay = this.#replays.take(claim);
    if (replay === 'replayed') return { status: 401, message: 'this link token was used already: each opens one link' };
    if (replay === 'full') return { status: 429, message: 'too many cascade links opened lately: try again shortly' };
    return { bridge: claim.bridge, room: claim.room };
  }

  /**
   * A satellite's link, as the room's home: its opening names the room of
   * its token, which must live here and be one the home links (linkRefusal).
   * A link that bridge had for the room is stale (a satellite keeps one, and
   * opens another only once its room closed and was made again): the new one
   * replaces it.
   */
  async accept(socket: WebSocket, claim: LinkClaim): Promise<void> {
    const logger = this.#logger.child({ room: claim.room, bridge: claim.bridge });
    const refuse = (message: string) => {
      logger.warn({ why: message }, 'cascade link refused');
      socket.send(JSON.stringify({ type: 'refused', message }));
      socket.close(1000, 'refused');
    };
    const opening = await firstMessage(socket, OPENING_TIMEOUT_MS);
    if (opening?.type !== 'open') return refuse('expected the opening first');
    if (opening.room !== claim.room) return refuse('the opening names another room than the token');
    const live = this.#options.registry.get(claim.room);
    const room = live && !live.closed ? live : undefined;
    const target = room && {
      homeBridge: room.homeBridge,
      e2ee: room.moderation.e2ee.enabled,
      guardsEntry: guardsEntry(room),
      linkedBridges: room.linkedBridges,
    };
    const refusal = linkRefusal(claim.room, target, claim.bridge);
    if (refusal || !room) return refuse(refusal ?? `room ${claim.room} does not live on this bridge`);
    const key = linkKey(claim.room, claim.bridge);
    this.#links.get(key)?.close(1000, 'replaced by a new link');
    const pipes = await ProducerPipes.create(room, this.#options.network, logger);
    try {
      await pipes.connect(opening.pipe);
    } catch (error) {
      pipes.close();
      throw error;
    }
    // The satellite went away, or the room closed, while the pipes were made: a link would never see it.
    if (socket.readyState !== socket.OPEN || room.closed) {
      pipes.close();
      socket.close(1000, 'room closed');
      return;
    }
    const link = this.#adopt(key, claim.bridge, new BridgeLink(socket, room, pipes, this.#options.hostWaits, logger));
    // Its peers in the opening (those of its other satellites too): the satellite mirrors them before the join that opened the link enters.
    const peers = [...room.peers].filter((peer) => !peer.hidden).map((peer) => peer.info());
    link.send({ type: 'opened', peers, chat: [...room.presence.chatHistory], pipe: pipes.end, pin: room.pin });
    link.start({ theirs: [], oursTold: true });
    // Entry may have been guarded during the awaits above, before the link listened for it.
    link.send(entryOf(room));
    logger.info('cascade link accepted: a satellite serves this room');
  }

  /**
   * The home's URL when this bridge serves `room` as a satellite and the home
   * guards entry now (a lock or the lobby): new joins are sent there, which
   * checks them (those in stay).
   */
  entryAtHome(room: string): string | undefined {
    for (const [key, link] of this.#links) {
      if (key.startsWith(`${room}\n`) && link.entryGuarded) return this.#homes.get(room);
    }
    return undefined;
  }

  /** Open links, and producers piped over them each way (the operator's metrics, and tests). */
  counts(): { links: number; producersOut: number; producersIn: number } {
    let producersOut = 0;
    let producersIn = 0;
    for (const link of this.#links.values()) {
      producersOut += link.pipes.counts.out;
      producersIn += link.pipes.counts.in;
    }
    return { links: this.#links.size, producersOut, producersIn };
  }

  async #openSatellite(name: string, home: BridgeRecord, reason: string): Promise<boolean> {
    const started = Date.now();
    const logger = this.#logger.child({ room: name, home: home.id });
    const room = await this.#options.registry.getOrCreate(name, { homeBridge: home.id });
    // A room of this name made here meanwhile (or served for another home) is not joined as this one's satellite.
    if (room.homeBridge !== home.id) return false;
    if (this.#links.has(linkKey(name, home.id))) return true;
    let link: BridgeLink | undefined;
    try {
      link = await this.#dial(room, home, logger);
    } catch (error) {
      logger.warn({ err: error }, 'cannot link the room to its home bridge');
    }
    if (!link) {
      if (room.load === 0) room.close(); // made for this join: the join goes to the home instead
      return false;
    }
    this.#homes.set(name, home.url);
    link.onGone(() => this.#homes.delete(name));
    logger.info({ reason, ms: Date.now() - started }, 'serving the room as a satellite of its home bridge');
    return true;
  }

  /** Opens the room's link to its home and starts it; undefined if the home did not take it (it said why, or nothing in time). */
  async #dial(room: Room, home: BridgeRecord, logger: Logger): Promise<BridgeLink | undefined> {
    const name = room.name;
    const pipes = await ProducerPipes.create(room, this.#options.network, logger);
    const url = new URL(CASCADE_LINK_PATH, home.url.replace(/^http/, 'ws'));
    const socket = new WebSocket(url, {
      ...this.#options.otherBridges,
      headers: { authorization: `Bearer ${linkToken(this.#options.secret, { bridge: this.#options.directory.id, room: name, target: home.id })}` },
      maxPayload: CASCADE_MAX_MESSAGE_BYTES,
      handshakeTimeout: OPENING_TIMEOUT_MS,
    });
    const link = new BridgeLink(socket, room, pipes, this.#options.hostWaits, logger);
    socket.once('open', () => link.send({ type: 'open', room: name, pipe: pipes.end }));
    socket.on('error', (error) => logger.warn({ err: error }, 'cascade link to the home bridge failed'));
    const answer = await link.first(OPENING_TIMEOUT_MS);
    if (answer?.type !== 'opened') {
      logger.warn({ answer: answer?.type === 'refused' ? answer.message : (answer?.type ?? 'none') }, 'the home bridge did not take a cascade link: the join goes there');
      link.close();
      return undefined;
    }
    try {
      await pipes.connect(answer.pipe);
    } catch (error) {
      link.close(); // its pipes with it
      throw error;
    }
    for (const message of answer.chat) room.presence.relay(message);
    room.showHomePin(answer.pin);
    return this.#adopt(linkKey(name, home.id), home.id, link).start({ theirs: answer.peers, oursTold: false });
  }

  #adopt(key: string, bridge: string, link: BridgeLink): BridgeLink {
    this.#links.set(key, link);
    link.room.setLinked(bridge, true);
    link.onGone(() => {
      if (this.#links.get(key) !== link) return;
      this.#links.delete(key);
      link.room.setLinked(bridge, false);
    });
    return link;
  }
}

function linkKey(room: string, bridge: string): string {
  return `${room}\n${bridge}`;
}

/** The first message on a socket, validated; undefined if it is invalid or none comes in time. */
function firstMessage(socket: WebSocket, timeoutMs: number): Promise<LinkMessage | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const done = (message: LinkMessage | undefined) => {
      clearTimeout(timer);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      resolve(message);
    };
    const onMessage = (raw: Buffer) => {
      const parsed = raw.length <= CASCADE_MAX_MESSAGE_BYTES ? parseLinkMessage(raw.toString('utf8')) : undefined;
      done(parsed && 'message' in parsed ? parsed.message : undefined);
    };
    const onClose = () => done(undefined);
    socket.on('message', onMessage);
    socket.once('close', onClose);
  });
}
