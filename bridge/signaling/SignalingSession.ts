import { randomUUID } from 'node:crypto';
import type { RawData, WebSocket } from 'ws';
import type { DialOuts, GatewayLink } from '../dialOut/DialOuts.ts';
import type { Logger } from '../../common/logger.ts';
import { sameSecret } from '../../common/sameSecret.ts';
import { JoinRefused, type JoinTokens, type VerifiedJoin } from '../auth/JoinTokens.ts';
import type { RestAuth } from '../auth/RestAuth.ts';
import type { TurnCredentials } from '../auth/TurnCredentials.ts';
import { TokenBucket } from '../limits/TokenBucket.ts';
import { TooManyAttempts, type PasswordAttempts } from '../limits/PasswordAttempts.ts';
import type { Recordings } from '../recording/Recordings.ts';
import type { BridgeDirectory } from '../directory/BridgeDirectory.ts';
import type { CascadeLinks } from '../cascade/CascadeLinks.ts';
import {
  describeZodError,
  encodeNotification,
  GATEWAY_METHODS,
  isRequestMethod,
  requestEnvelopeSchema,
  requests,
  type DisconnectReason,
  type ErrorCode,
  type GatewayMethod,
  type IceServer,
  type NotificationData,
  type NotificationName,
  type ParsedRequestData,
  type PeerKind,
  type RequestMethod,
  type ResponseData,
} from '../../protocol/protocol.ts';
import { accessRefusal } from '../../protocol/accessRules.ts';
import { Peer, PARTICIPANT, type PeerAccess, type PeerChannel } from '../rooms/Peer.ts';
import type { Room } from '../rooms/Room.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import type { HostWaits } from './HostWaits.ts';
import { RequestError } from './RequestError.ts';

export interface SignalingSessionOptions {
  registry: RoomRegistry;
  /** The room directory shared with other bridges (REDIS_URL); undefined: this bridge is alone. */
  directory: BridgeDirectory | undefined;
  /** Rooms served together with other bridges (with the directory); undefined: this bridge is alone. */
  cascade: CascadeLinks | undefined;
  logger: Logger;
  maxMessageBytes: number;
  /** Shown to participants with each room's PIN. */
  dialInNumbers: readonly string[];
  dialOuts: DialOuts;
  recordings: Recordings;
  /** What services (phone, service and recorder peers, gateways) must present; undefined: services are refused. */
  serviceSecret: string | undefined;
  /** Who may enter (AUTH_MODE). */
  authMode: 'open' | 'token' | 'secure';
  /** How long a join waits for a moderator (AUTH_MODE=secure) or in a room's lobby (LOBBY_TIMEOUT_SECONDS). */
  lobbyTimeoutMs: number;
  /** Shared by the bridge's sockets: guests waiting for a moderator. */
  hostWaits: HostWaits;
  /** Shared by the bridge's sockets: wrong room passwords, counted. */
  passwordAttempts: PasswordAttempts;
  /** The client's address (request.ip: behind a trusted proxy, the forwarded one). */
  address: string;
  /** Issues each joined peer its token for REST about its room. */
  restAuth: RestAuth;
  /** Verifies join tokens. */
  joinTokens: JoinTokens;
  /** Issues each joined peer its TURN servers and credentials; undefined: none configured (TURN_URLS). */
  turnCredentials: TurnCredentials | undefined;
  /** The address of ours this client connected to (it can reach us there). */
  reachedAt: string | undefined;
  messageBudget: MessageBudget;
  /** Called each time the socket presents the SERVICE_SECRET (the route then stops counting it as a stranger's). */
  servicePresented: () => void;
}

/** Messages a socket may send per second, with bursts up to `burst`. */
export interface MessageBudget {
  perSecond: number;
  burst: number;
}

/** Policy violation (RFC 6455): the socket kept sending over its budget. */
const FLOOD_CLOSE = { code: 1008, reason: 'too many messages: kept sending after rateLimited replies' } as const;

interface Joined {
  peer: Peer;
  room: Room;
  hostWaits: HostWaits;
  reachedAt: string | undefined;
  dialOuts: DialOuts;
  recordings: Recordings;
}

type Handlers = {
  [M in Exclude<RequestMethod, 'join' | 'leave' | 'ping' | GatewayMethod>]: (
    joined: Joined,
    data: ParsedRequestData<M>,
  ) => Promise<ResponseData<M>> | ResponseData<M>;
};

/** What each request does once the peer is in a room. */
const handlers: Handlers = {
  createWebRtcTransport: ({ room, peer }, d) => room.createWebRtcTransport(peer, d.direction),
  connectWebRtcTransport: async ({ room, peer }, d) => {
    await room.connectWebRtcTransport(peer, d.transportId, d.dtlsParameters);
    return {};
  },
  restartIce: ({ room, peer }, d) => room.restartIce(peer, d.transportId),
  createPlainTransport: ({ room, peer, reachedAt }, d) => room.createPlainTransport(peer, d, reachedAt),
  connectPlainTransport: async ({ room, peer }, d) => {
    await room.connectPlainTransport(peer, d.transportId, d);
    return {};
  },
  produce: async ({ room, peer }, d) => ({ producerId: await room.produce(peer, d) }),
  closeProducer: ({ room, peer }, d) => {
    room.closeProducer(peer, d.producerId);
    return {};
  },
  setProducerPaused: async ({ room, peer }, d) => {
    await room.setProducerPaused(peer, d.producerId, d.paused);
    return {};
  },
  subscribe: async ({ room, peer }, d) => {
    await room.subscribe(peer, d);
    return {};
  },
  consume: ({ room, peer }, d) => room.consume(peer, d),
  resumeConsumer: async ({ room, peer }, d) => {
    await room.resumeConsumer(peer, d.consumerId);
    return {};
  },
  closeConsumer: ({ room, peer }, d) => {
    room.closeConsumer(peer, d.consumerId);
    return {};
  },
  setPreferredLayers: async ({ room, peer }, d) => {
    await room.setPreferredLayers(peer, d);
    return {};
  },
  chat: ({ room, peer }, d) => ({ message: room.presence.chat(peer, d.text) }),
  setHandRaised: ({ room, peer }, d) => {
    room.presence.setHandRaised(peer, d.raised);
    return {};
  },
  setDisplayName: ({ room, peer }, d) => {
    room.presence.setDisplayName(peer, d.displayName);
    return {};
  },
  muteParticipant: async ({ room, peer }, d) => {
    await room.moderation.mute(peer, d.peerId);
    return {};
  },
  muteAll: async ({ room, peer }) => ({ muted: await room.moderation.muteAll(peer) }),
  removeParticipant: ({ room, peer }, d) => {
    room.moderation.remove(peer, d.peerId);
    return {};
  },
  promote: ({ room, peer, hostWaits }, d) => {
    room.moderation.promote(peer, d.peerId);
    hostWaits.arrived(room.name);
    return {};
  },
  endMeeting: ({ room, peer }) => {
    // After the reply: ending closes the asker's socket too, which would leave its request unanswered.
    setImmediate(() => room.moderation.end(peer));
    return {};
  },
  setRoomPassword: ({ room, peer }, d) => {
    room.moderation.setPassword(peer, d.password);
    return {};
  },
  setLobby: ({ room, peer }, d) => {
    room.moderation.lobby.setEnabled(peer, d.enabled);
    return {};
  },
  admit: ({ room, peer }, d) => ({ admitted: room.moderation.lobby.admit(peer, d.knockId) }),
  deny: ({ room, peer }, d) => ({ denied: room.moderation.lobby.deny(peer, d.knockId) }),
  setE2ee: ({ room, peer, recordings }, d) => {
    // Keys are not carried across bridges: a room served by several is not encrypted end to end.
    const [linked] = room.linkedBridges;
    const busy = recordings.current(room.name).length > 0 ? 'the recording under way' : linked !== undefined ? `bridge ${linked}, serving this meeting with this one,` : undefined;
    room.moderation.e2ee.setEnabled(peer, d.enabled, busy);
    return {};
  },
  setEncrypting: ({ room, peer }, d) => {
    room.moderation.e2ee.setEncrypting(peer, d.encrypting);
    return {};
  },
  sendE2eeMessage: ({ room, peer }, d) => {
    room.moderation.e2ee.relay(peer, d.to, d.payload);
    return {};
  },
  dialOut: ({ room, peer, dialOuts }, d) => ({ call: dialOuts.start(room, peer, d.number) }),
  cancelDialOut: ({ room, dialOuts }, d) => {
    dialOuts.cancel(room, d.callId);
    return {};
  },
  startRecording: async ({ room, peer, recordings }, d) => ({ recording: await recordings.start(room.name, peer.displayName, d) }),
  stopRecording: async ({ room, recordings }, d) => {
    await recordings.stop(room.name, d.recordingId);
    return {};
  },
};

const CLOSE_CODES: Record<DisconnectReason, number> = { kicked: 4001, roomClosed: 4002, meetingEnded: 4003, shuttingDown: 1001 };

/**
 * What the room's home bridge owns: a satellite (a bridge serving the room
 * for its home, cascading) refuses it rather than diverge from the home.
 */
const HOME_ONLY: ReadonlySet<RequestMethod> = new Set([
  'setRoomPassword', 'setLobby', 'admit', 'deny', 'setE2ee', 'startRecording', 'stopRecording', 'endMeeting', 'dialOut', 'cancelDialOut',
]);

/** Kinds that are the bridge's own services, not people with a browser: they present SERVICE_SECRET, not a token. */
const SERVICE_KINDS: ReadonlySet<PeerKind> = new Set(['phone', 'service', 'recorder']);

/**
 * One client's WebSocket. Validates every message, keeps the peer's place in
 * its room, and turns any failure into an error reply on this socket only.
 */
export class SignalingSession implements PeerChannel {
  readonly #socket: WebSocket;
  readonly #options: SignalingSessionOptions;
  readonly #logger: Logger;
  /** Names this socket to the password attempt counters. */
  readonly #id = randomUUID();
  #joined: Joined | undefined;
  #joining = false;
  /** Set when this socket is a SIP gateway's control connection. */
  #gateway: GatewayLink | undefined;
  /** Joined a room or registered as a gateway once; leaving later does not undo it. */
  #identified = false;
  /** Messages this socket may still send now. */
  readonly #budget: TokenBucket;
  /**
   * Over-budget messages it may still send: a client that slows down on the
   * rateLimited replies keeps its connection, one that floods on loses it.
   */
  readonly #refusals: TokenBucket;

  constructor(socket: WebSocket, options: SignalingSessionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#logger = options.logger;
    const { perSecond, burst } = options.messageBudget;
    this.#budget = new TokenBucket(perSecond, burst);
    this.#refusals = new TokenBucket(perSecond, burst);
    socket.on('message', (raw, isBinary) => void this.#onMessage(raw, isBinary));
    socket.on('close', () => {
      this.#leave();
      if (this.#gateway) this.#options.dialOuts.removeGateway(this.#gateway);
    });
    socket.on('error', (error) => this.#logger.debug({ err: error }, 'signaling socket error'));
  }

  notify<N extends NotificationName>(name: N, data: NotificationData<N>): void {
    this.send(encodeNotification(name, data));
  }

  send(encoded: string): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(encoded);
  }

  /** Whether the socket took the protocol's first step (join or registerGateway), or is taking it: the join deadline spares it. */
  get identified(): boolean {
    return this.#identified || this.#joining;
  }

  iceServers(peerId: string): IceServer[] | undefined {
    return this.#options.turnCredentials?.issue(peerId);
  }

  disconnect(reason: DisconnectReason): void {
    this.#joined = undefined; // the room already let go of the peer
    this.notify('disconnected', { reason });
    this.#socket.close(CLOSE_CODES[reason], reason);
  }

  async #onMessage(raw: RawData, isBinary: boolean): Promise<void> {
    const bytes = rawToBuffer(raw);
    if (!this.#budget.take()) return this.#refuseOverBudget(bytes, isBinary);
    if (bytes.length > this.#options.maxMessageBytes) {
      return this.#reply(null, error('tooLarge', `message exceeds ${this.#options.maxMessageBytes} bytes`));
    }
    if (isBinary) return this.#reply(null, error('malformed', 'binary frames are not part of the protocol'));
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return this.#reply(null, error('malformed', 'not valid JSON'));
    }
    const envelope = requestEnvelopeSchema.safeParse(json);
    if (!envelope.success) {
      return this.#reply(requestId(json), error('malformed', `not a request: ${describeZodError(envelope.error)}`));
    }
    const { id, method } = envelope.data;
    if (!isRequestMethod(method)) return this.#reply(id, error('unknownMethod', `unknown method "${method}"`));
    const data = requests[method].request.safeParse(envelope.data.data ?? {});
    if (!data.success) return this.#reply(id, error('invalidData', `${method}: ${describeZodError(data.error)}`));
    try {
      this.#reply(id, { ok: true, data: await this.#handle(method, data.data) });
    } catch (failure) {
      this.#reply(id, this.#toError(method, failure));
    }
  }

  /** Not processed: an error reply (to the request, when it is one) or, once the refusals run out too, a close. */
  #refuseOverBudget(bytes: Buffer, isBinary: boolean): void {
    if (!this.#refusals.take()) {
      if (this.#socket.readyState !== this.#socket.OPEN) return;
      this.#logger.warn({ budget: this.#options.messageBudget }, 'signaling socket closed: it kept flooding messages');
      this.#socket.close(FLOOD_CLOSE.code, FLOOD_CLOSE.reason);
      return;
    }
    let id: number | null = null;
    if (!isBinary && bytes.length <= this.#options.maxMessageBytes) {
      try {
        id = requestId(JSON.parse(bytes.toString('utf8')));
      } catch {
        // Not JSON: the refusal goes unaddressed, as any malformed message's reply does.
      }
    }
    const { perSecond, burst } = this.#options.messageBudget;
    this.#reply(id, error('rateLimited', `slow down: at most ${perSecond} messages per second (bursts of ${burst}); this one was not processed`));
  }

  async #handle(method: RequestMethod, data: unknown): Promise<unknown> {
    if (method === 'ping') return {};
    if (method === 'join') return this.#join(data as ParsedRequestData<'join'>);
    if ((GATEWAY_METHODS as readonly string[]).includes(method)) return this.#handleGateway(method as GatewayMethod, data);
    const joined = this.#joined;
    if (!joined) throw new RequestError('notJoined', `${method} before join`);
    if (method === 'leave') {
      this.#leave();
      return {};
    }
    const refusal = accessRefusal(joined.peer.role, joined.peer.grants, method, data as ParsedRequestData<typeof method>);
    if (refusal) throw new RequestError('forbidden', refusal);
    const { homeBridge } = joined.room;
    if (homeBridge !== undefined && HOME_ONLY.has(method)) {
      throw new RequestError('unavailable', `${method}: this bridge serves the meeting together with its home bridge (${homeBridge}), which alone can do this; ask a moderator connected there`);
    }
    const handler = handlers[method as keyof Handlers] as (joined: Joined, data: unknown) => unknown;
    return handler(joined, data);
  }

  #handleGateway(method: GatewayMethod, data: unknown): object {
    const { dialOuts } = this.#options;
    if (method === 'registerGateway') {
      if (this.#joined || this.#joining || this.#gateway) throw new RequestError('alreadyJoined', 'this connection is already in use');
      const d = data as ParsedRequestData<'registerGateway'>;
      this.#checkServiceSecret(d.secret);
      this.#gateway = { channel: this, name: d.name, dialOut: d.dialOut, trunkRegistration: d.trunkRegistration, active: new Set() };
      dialOuts.addGateway(this.#gateway);
      this.#identified = true;
      return { authMode: this.#options.authMode } satisfies ResponseData<'registerGateway'>;
    }
    const gateway = this.#gateway;
    if (!gateway) throw new RequestError('notJoined', `${method} before registerGateway`);
    if (method === 'updateGateway') gateway.trunkRegistration = (data as ParsedRequestData<'updateGateway'>).trunkRegistration;
    else dialOuts.report(gateway, data as ParsedRequestData<'reportDialOut'>);
    return {};
  }

  /**
   * Every check that needs no room comes first (the service secret, the
   * token, a secure room's host, password attempts), so a refused join never
   * makes a room. The waiting guest of a secure room holds none either.
   */
  async #join(request: ParsedRequestData<'join'>): Promise<ResponseData<'join'>> {
    if (this.#joined || this.#joining || this.#gateway) throw new RequestError('alreadyJoined', 'this connection already joined a room');
    this.#joining = true;
    const gone = new AbortController();
    const onClose = () => gone.abort();
    this.#socket.once('close', onClose);
    let placed = false;
    try {
      // Credentials before the directory: a stranger's join makes no placement (no Redis write, no load).
      const access = await this.#admit(request);
      await this.#mustBeHome(request.room, request.bridgeLost, request.region);
      placed = true;
      if (this.#waitsForHost(request)) await this.#waitForHost(request.room, gone.signal);
      const displayName = access.displayName ?? request.displayName;
      const attempt = { socket: this.#id, address: this.#options.address, room: request.room };
      const existing = this.#options.registry.get(request.room);
      if (existing?.moderation.locked && request.password !== undefined) await this.#checkAttempts(attempt);
      if (existing && this.#mustKnock(existing, request, access)) {
        // The password first: a moderator is not asked to admit someone the lock would turn away.
        await this.#countingWrongPasswords(attempt, request.password, () => existing.moderation.checkEntry(request.password));
        this.notify('waitingInLobby', { room: existing.name, timeoutSeconds: Math.round(this.#options.lobbyTimeoutMs / 1000) });
        await existing.moderation.lobby.knock({ displayName, kind: request.kind as 'web' | 'phone' }, this.#options.lobbyTimeoutMs, gone.signal);
      }
      let room = await this.#options.registry.getOrCreate(request.room);
      if (room.closed) {
        // The last peer left (closing the room) meanwhile: where the room lives is asked again (a
        // satellite's link may have gone), then a fresh room is made, here or as a satellite.
        await this.#mustBeHome(request.room, request.bridgeLost, request.region);
        room = await this.#options.registry.getOrCreate(request.room);
      }
      const peer = new Peer(displayName, request.kind, this, access, request.e2eeCapable);
      await this.#countingWrongPasswords(attempt, request.password, () => room.join(peer, request.password));
      if (this.#socket.readyState !== this.#socket.OPEN) {
        room.leave(peer); // the client went away while the room was being made
        throw new RequestError('notJoined', 'connection closed during join');
      }
      if (peer.role === 'moderator') this.#options.hostWaits.arrived(room.name);
      const { dialOuts, recordings, hostWaits } = this.#options;
      this.#joined = { peer, room, hostWaits, reachedAt: this.#options.reachedAt, dialOuts, recordings };
      this.#identified = true;
      return {
        peerId: peer.id,
        role: peer.role,
        grants: peer.grants,
        accessToken: await this.#options.restAuth.memberToken(room.name, peer.id),
        room: room.name,
        routerRtpCapabilities: room.routerRtpCapabilities,
        peers: room.visiblePeers(peer),
        chat: [...room.presence.chatHistory],
        activeSpeakerId: room.activeSpeakerId,
        dialIn: { pin: room.pin, numbers: [...this.#options.dialInNumbers] },
        locked: room.moderation.locked,
        lobby: room.moderation.lobby.viewFor(peer),
        dialOutAvailable: dialOuts.available,
        dialOuts: dialOuts.list(room),
        recordings: recordings.current(room.name),
        e2ee: room.moderation.e2ee.enabled,
        // Only now, once admitted: a refused or waiting join gets no way through the TURN server.
        iceServers: this.iceServers(peer.id),
        fallbacks: this.#options.directory?.fallbacks(room.name) ?? [],
      };
    } catch (refusal) {
      // A room made for this join (a satellite linked for it, or a room not locked when we looked): leave nothing behind.
      const room = placed ? this.#options.registry.get(request.room) : undefined;
      room?.closeIfDeserted();
      throw refusal;
    } finally {
      this.#socket.off('close', onClose);
      this.#joining = false;
    }
  }

  /**
   * A room that lives on another bridge is joined there: the client is told
   * where, once its credentials are checked and before it waits for anything
   * (a secure room's guest must not wait for its host here). The address comes
   * from the directory, never from a client. A client that lost the room's
   * bridge (bridgeLost) may find it taken over here. A client of this
   * bridge's region (or any, when the home is full) may be served here, as
   * the home's satellite (CascadeLinks.serve).
   */
  async #mustBeHome(room: string, bridgeLost: boolean, region: string | undefined): Promise<void> {
    const { registry, directory, cascade } = this.#options;
    const entryAtHome = cascade?.entryAtHome(room);
    if (entryAtHome) throw new RequestError('elsewhere', `room ${room} is locked or has its lobby on: join it on its home bridge`, entryAtHome);
    if (!directory || registry.get(room)) return;
    const home = await directory.homeOf(room, { bridgeLost });
    if (home.kind === 'full') throw new RequestError('unavailable', 'every bridge is at capacity (BRIDGE_CAPACITY): try again later');
    if (home.kind === 'elsewhere' && (await cascade?.serve(room, home.bridge, region))) return;
    if (home.kind === 'elsewhere') throw new RequestError('elsewhere', `room ${room} is hosted by bridge ${home.bridge.id}: join there`, home.bridge.url);
  }

  /**
   * Who this peer is allowed to be, by AUTH_MODE: services present the
   * SERVICE_SECRET; web peers a join token (required in `token` mode, of
   * moderators in `secure` mode, where a guest then waits for a moderator:
   * #waitsForHost).
   */
  async #admit(request: ParsedRequestData<'join'>): Promise<PeerAccess & { displayName?: string }> {
    if (SERVICE_KINDS.has(request.kind)) {
      this.#checkServiceSecret(request.secret);
      return PARTICIPANT;
    }
    const { authMode } = this.#options;
    if (request.token !== undefined) {
      const verified = await this.#verifyToken(request.token, request.room);
      return { role: verified.role, grants: verified.grants, autoModerator: false, displayName: verified.name };
    }
    if (authMode === 'token') {
      throw new RequestError('unauthorized', 'this bridge admits only with a join token (AUTH_MODE=token): open the link you were given, with its ?jwt=');
    }
    if (authMode === 'secure') return PARTICIPANT;
    return { ...PARTICIPANT, autoModerator: true };
  }

  /** A guest of a secure room (a web peer without a token) enters only with a moderator in. */
  #waitsForHost(request: ParsedRequestData<'join'>): boolean {
    return this.#options.authMode === 'secure' && !SERVICE_KINDS.has(request.kind) && request.token === undefined;
  }

  /**
   * While a room's lobby is on, everyone knocks but moderators, the bridge's
   * own services, and a phone answering one of the room's invitations (a
   * moderator asked for it). Outside AUTH_MODE=open a phone caller knocks even
   * with the lobby off: it has no token, so a moderator vouches for it.
   */
  #mustKnock(room: Room, request: ParsedRequestData<'join'>, access: PeerAccess): boolean {
    if (access.role === 'moderator') return false;
    if (request.kind === 'web') return room.moderation.lobby.enabled;
    if (request.kind !== 'phone') return false;
    if (!room.moderation.lobby.enabled && this.#options.authMode === 'open') return false;
    return request.dialOutCallId === undefined || !this.#options.dialOuts.invited(room, request.dialOutCallId);
  }

  /** Runs an entry check; a wrong password it refuses counts against the attempt limits. */
  async #countingWrongPasswords(attempt: { socket: string; address: string; room: string }, password: string | undefined, check: () => void): Promise<void> {
    try {
      check();
    } catch (refusal) {
      if (refusal instanceof RequestError && refusal.code === 'passwordRequired' && password !== undefined) {
        await this.#options.passwordAttempts.failed(attempt);
      }
      throw refusal;
    }
  }

  async #verifyToken(token: string, room: string): Promise<VerifiedJoin> {
    try {
      return await this.#options.joinTokens.verify(token, room);
    } catch (refusal) {
      if (refusal instanceof JoinRefused) throw new RequestError('unauthorized', `join token refused: ${refusal.message}`);
      throw refusal;
    }
  }

  /** A secure room's guest enters only while a moderator is in; until one arrives the client is told it waits. */
  async #waitForHost(room: string, gone: AbortSignal): Promise<void> {
    const { registry, hostWaits, lobbyTimeoutMs } = this.#options;
    const hosted = () => registry.get(room)?.moderation.hasModerator === true;
    if (hosted()) return;
    this.notify('waitingForHost', { room, timeoutSeconds: Math.round(lobbyTimeoutMs / 1000) });
    const deadline = Date.now() + lobbyTimeoutMs;
    // A moderator may arrive and leave again before this guest looks: wait on until the deadline.
    while (!hosted()) {
      const left = deadline - Date.now();
      if (left <= 0 || !(await hostWaits.wait(room, left, gone))) {
        if (gone.aborted) throw new RequestError('notJoined', 'connection closed while waiting for the host');
        throw new RequestError('unavailable', `no moderator arrived in ${room} within ${Math.round(lobbyTimeoutMs / 1000)} s; try again later`);
      }
    }
  }

  async #checkAttempts(attempt: { socket: string; address: string; room: string }): Promise<void> {
    try {
      await this.#options.passwordAttempts.check(attempt);
    } catch (refusal) {
      if (refusal instanceof TooManyAttempts) throw new RequestError('rateLimited', refusal.message);
      throw refusal;
    }
  }

  #checkServiceSecret(given: string | undefined): void {
    const expected = this.#options.serviceSecret;
    if (expected === undefined) {
      throw new RequestError('forbidden', 'this bridge has no SERVICE_SECRET set, so it admits no services (phone, service and recorder peers, SIP gateways)');
    }
    if (given === undefined || !sameSecret(given, expected)) {
      throw new RequestError('forbidden', 'services (phone, service and recorder peers, SIP gateways) must present the bridge SERVICE_SECRET');
    }
    this.#options.servicePresented();
  }

  #leave(): void {
    const joined = this.#joined;
    this.#joined = undefined;
    joined?.room.leave(joined.peer);
  }

  #toError(method: RequestMethod, failure: unknown): ReplyError {
    if (failure instanceof RequestError) return error(failure.code, failure.message, failure.bridgeUrl);
    // Anything else came from mediasoup refusing what the client sent.
    const message = failure instanceof Error ? failure.message : String(failure);
    this.#logger.warn({ err: failure, method }, 'request failed');
    return error('mediaError', `${method}: ${message}`);
  }

  #reply(id: number | null, result: { ok: true; data: unknown } | ReplyError): void {
    this.send(JSON.stringify({ id, ...result }));
  }
}

interface ReplyError {
  ok: false;
  error: { code: ErrorCode; message: string; bridgeUrl?: string };
}

function error(code: ErrorCode, message: string, bridgeUrl?: string): ReplyError {
  return { ok: false, error: { code, message, ...(bridgeUrl && { bridgeUrl }) } };
}

/** The id of what looks like a request, to address its error reply. */
function requestId(json: unknown): number | null {
  const id = (json as { id?: unknown } | null)?.id;
  return typeof id === 'number' ? id : null;
}

function rawToBuffer(raw: RawData): Buffer {
  if (Buffer.isBuffer(raw)) return raw;
  if (Array.isArray(raw)) return Buffer.concat(raw);
  return Buffer.from(raw);
}
