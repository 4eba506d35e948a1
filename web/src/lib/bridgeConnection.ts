// The signaling connection to the bridge and the join on it, kept up for the
// whole meeting: when the socket drops it reconnects and joins again (a new
// peer in the same room) until it is refused, kicked, or we leave. If the
// bridge it was on is gone, it rejoins through the room's fallbacks (another
// bridge of the deployment takes the room over). What a join brings and what
// the notifications say is for the conference to use; this only knows
// whether we are in the room.
import { signal } from '@preact/signals';
import { Backoff } from '../../../common/backoff.ts';
import type { RequestData, RequestMethod, ResponseData } from '../../../protocol/protocol.ts';
import { SIGNALING_PATH } from '../../../protocol/protocol.ts';
import { SignalingClient, SignalingError } from '../../../protocol/SignalingClient.ts';
import { failoverTargets } from './failoverTargets.ts';
import { roomsBridgePage, withoutMoves } from './roomsBridge.ts';

/**
 * Waiting to be let in, named after the bridge's notification that says so: a
 * secure room's guest until a moderator arrives, or a knock in a room's lobby
 * until a moderator admits it.
 */
const WAITS = ['waitingForHost', 'waitingInLobby'] as const;
export type Wait = (typeof WAITS)[number];
export type ConferenceStatus = 'connecting' | Wait | 'connected' | 'reconnecting' | 'ended';
export type EndReason = 'left' | 'kicked' | 'roomClosed' | 'meetingEnded' | JoinRefusal | WaitEnd | 'failed';

export function isWaiting(status: ConferenceStatus): status is Wait {
  return (WAITS as readonly string[]).includes(status);
}

/** Join refusals that end the attempt for good (others are retried). */
const REFUSALS = ['roomFull', 'passwordRequired', 'unauthorized', 'rateLimited', 'notAdmitted', 'unavailable', 'encrypted'] as const;
type JoinRefusal = (typeof REFUSALS)[number];
/** `unavailable` after a wait: nobody let us in in time (or the room closed meanwhile). */
const WAIT_ENDS = { waitingForHost: 'noHost', waitingInLobby: 'lobbyTimedOut' } as const satisfies Record<Wait, string>;
type WaitEnd = (typeof WAIT_ENDS)[Wait];

function refusalOf(error: unknown, waited: Wait | null): JoinRefusal | WaitEnd | undefined {
  if (!(error instanceof SignalingError) || !(REFUSALS as readonly string[]).includes(error.code)) return undefined;
  return error.code === 'unavailable' && waited ? WAIT_ENDS[waited] : (error.code as JoinRefusal);
}

/**
 * Half a second, doubling to 8 s. Jittered: a restarted bridge has every
 * browser of every room coming back at once, and they should not all knock
 * in the same instant again and again.
 */
const RECONNECT_BACKOFF = { firstMs: 500, maxMs: 8000, jitter: 0.3 };
/** Rounds in which a bridge said it takes no one (and none took us) before the page gives up saying so. */
const MAX_UNAVAILABLE_ROUNDS = 3;
/**
 * How long a reconnect waits for a socket to open before trying the next
 * bridge. A bridge whose process died refuses at once; only a dead machine
 * runs this out, and the room has 5 s in all to be back.
 */
const RECONNECT_CONNECT_TIMEOUT_MS = 2000;

/** The signaling socket of the bridge that served this page. */
function pageSignalingUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SIGNALING_PATH}`;
}

export interface ConnectionHandlers {
  /** A new socket, before the join goes out: subscribe to its notifications here so none is missed. */
  opened(client: SignalingClient): void;
  /** Joined (again): set up what the room needs. A throw fails this attempt like a refused join. */
  joined(joined: ResponseData<'join'>, client: SignalingClient): Promise<void>;
  /** The connection dropped or ended: whatever ran over it is gone. */
  lost(): void;
  /** The meeting is over for us, for good (why is in `endReason`). */
  ended(): void;
}

export class BridgeConnection {
  readonly status = signal<ConferenceStatus>('connecting');
  readonly endReason = signal<EndReason | null>(null);
  /** The bridge's words for a refused join (why a token was refused, when to try a password again). */
  readonly endDetail = signal<string | null>(null);

  readonly #join: RequestData<'join'>;
  readonly #handlers: ConnectionHandlers;
  readonly #backoff = new Backoff(RECONNECT_BACKOFF);
  #client: SignalingClient | undefined;
  /** What the current join attempt was told to wait for, if anything: a refusal after it means nobody let us in. */
  #waited: Wait | null = null;
  /** Where the last join was answered: the page's bridge, or the one a failover rejoined on. */
  #signalingUrl = pageSignalingUrl();
  /** The room's fallback bridges from the last join answer, in the order the room's clients try them. */
  #fallbacks: readonly string[] = [];
  /** The bridge we were on said it is shutting down: the next rejoin asks the fallbacks first. */
  #bridgeLeaving = false;
  /**
   * Whether a reconnect loop runs. A socket that drops during one of its
   * attempts (a knock can wait minutes) is that loop's to retry: a second
   * loop would join twice, a ghost of us left in the room.
   */
  #reconnecting = false;

  constructor(join: RequestData<'join'>, handlers: ConnectionHandlers) {
    this.#join = join;
    this.#handlers = handlers;
  }

  get isConnected(): boolean {
    return this.status.value === 'connected';
  }

  /** Connects and joins; afterwards the connection keeps itself up. */
  async start(): Promise<void> {
    try {
      await this.#connect();
      this.status.value = 'connected';
    } catch (error) {
      if (this.status.value !== 'ended') this.#end(refusalOf(error, this.#waited) ?? 'failed', error);
      throw error;
    }
  }

  leave(): void {
    this.#client?.close();
    this.#end('left');
  }

  #end(reason: EndReason, error?: unknown): void {
    if (this.status.value === 'ended') return;
    this.endReason.value = reason;
    if (error instanceof SignalingError) this.endDetail.value = error.message;
    this.status.value = 'ended';
    this.#handlers.lost();
    this.#handlers.ended();
  }

  /** Sends a request on the current socket; undefined when there is none open (we are between connections). */
  request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> | undefined {
    return this.#client?.isOpen ? this.#client.request(method, data) : undefined;
  }

  /**
   * Connects to `url` and joins. On the page's own bridge, a room on another
   * bridge is reached by moving the page there (#goToRoomsBridge), as on the
   * first join. On another bridge (a failover), the join says the room's
   * bridge was lost, and a redirect is followed by the socket: the page stays
   * where its camera and microphone were granted. `reconnecting`: a bridge
   * that does not let the socket open soon gives way to the next one.
   */
  async #connect(url = this.#signalingUrl, reconnecting = false): Promise<void> {
    const failover = url !== pageSignalingUrl();
    const client = await SignalingClient.connect(url, {
      followRedirects: failover,
      ...(reconnecting && { connectTimeoutMs: RECONNECT_CONNECT_TIMEOUT_MS }),
    });
    this.#client = client;
    this.#waited = null;
    this.#handlers.opened(client);
    // A server shutting down (restarting, or a drain moving its rooms) is a dropped connection like any other: reconnect.
    client.on('disconnected', ({ reason }) => (reason === 'shuttingDown' ? (this.#bridgeLeaving = true) : this.#end(reason)));
    for (const wait of WAITS) {
      client.on(wait, () => {
        this.#waited = wait;
        this.status.value = wait;
      });
    }
    client.onClose(() => {
      if (this.#client === client && this.status.value !== 'ended' && !this.#reconnecting) void this.#reconnect();
    });
    const joined = failover
      ? await client.request('join', { ...this.#join, bridgeLost: true })
      : await client.request('join', this.#join).catch((error: unknown) => this.#goToRoomsBridge(error));
    this.#signalingUrl = client.url;
    this.#fallbacks = joined.fallbacks;
    this.#bridgeLeaving = false;
    const settled = withoutMoves(location.href);
    if (settled) history.replaceState(history.state, '', settled);
    await this.#handlers.joined(joined, client);
    // Left (or ended) while the join was being set up: this attempt is over, not connected.
    if (this.status.value === 'ended') throw new SignalingError('closed', 'join: the meeting ended while joining');
  }

  /**
   * The room lives on another bridge (the directory said so): the page moves
   * there, same room path and query (a ?jwt= goes along), and joins from its
   * own origin, so the strict CSP needs nothing more. The join form is shown
   * again there: what was typed in it stays behind with this origin.
   */
  #goToRoomsBridge(error: unknown): Promise<never> {
    if (!(error instanceof SignalingError) || error.code !== 'elsewhere' || !error.bridgeUrl) throw error;
    const page = roomsBridgePage(location.href, error.bridgeUrl);
    if (!page) throw new SignalingError('elsewhere', 'join: the bridges do not agree where this meeting is; try again in a few seconds');
    this.#client = undefined; // its socket closing is not ours to reconnect: the page is leaving
    location.assign(page);
    return new Promise<never>(() => {});
  }

  async #reconnect(): Promise<void> {
    this.#reconnecting = true;
    try {
      await this.#reconnectLoop();
    } finally {
      this.#reconnecting = false;
    }
  }

  async #reconnectLoop(): Promise<void> {
    this.status.value = 'reconnecting';
    this.#handlers.lost();
    // Waiting again (for the host, or in the lobby: we knock like anyone else) counts as still reconnecting.
    const reconnecting = () => this.status.value === 'reconnecting' || isWaiting(this.status.value);
    let unavailableRounds = 0;
    while (reconnecting()) {
      await delay(this.#backoff.next());
      // One round: the bridge we were on, then at once (a refused connection fails in milliseconds) each fallback.
      const targets = failoverTargets(this.#signalingUrl, this.#fallbacks, { currentLeaving: this.#bridgeLeaving });
      let unavailable: unknown;
      for (const url of targets) {
        if (!reconnecting()) return;
        try {
          await this.#connect(url, true);
          this.#backoff.reset();
          this.status.value = 'connected';
          return;
        } catch (error) {
          this.#client?.close();
          const refusal = refusalOf(error, this.#waited);
          // One bridge that takes no one now (draining, or full) says nothing of the others: the next is asked.
          if (refusal === 'unavailable') unavailable = error;
          else if (refusal) return this.#end(refusal, error);
        }
      }
      // Every bridge of the round unavailable, round after round: that is the answer.
      unavailableRounds = unavailable === undefined ? 0 : unavailableRounds + 1;
      if (unavailableRounds >= MAX_UNAVAILABLE_ROUNDS) return this.#end('unavailable', unavailable);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
