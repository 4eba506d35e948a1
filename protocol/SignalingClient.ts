// A typed client of the signaling protocol, for the browser and for services
// (gateway, recorder, tests). It uses the standard WebSocket, which browsers
// and Node 22+ both have, and validates everything the bridge sends.
import { DEFAULT_LIVENESS, LIVENESS_CLOSE, livenessProblem, type LivenessTimes } from './liveness.ts';
import {
  describeZodError,
  isNotificationName,
  notifications,
  requests,
  serverMessageSchema,
  type ErrorCode,
  type NotificationData,
  type NotificationName,
  type RequestData,
  type RequestMethod,
  type ResponseData,
} from './protocol.ts';

export class SignalingError extends Error {
  readonly code: ErrorCode | 'timeout' | 'closed' | 'protocol';
  /** With `elsewhere`: the bridge that hosts the room (validated: an http or https URL). */
  readonly bridgeUrl: string | undefined;
  constructor(code: SignalingError['code'], message: string, bridgeUrl?: string) {
    super(message);
    this.name = 'SignalingError';
    this.code = code;
    this.bridgeUrl = bridgeUrl;
  }
}

/** A join is sent on to the room's bridge at most this often (two bridges disagreeing, for a moment, must not loop). */
export const MAX_JOIN_REDIRECTS = 2;

/**
 * The signaling URL on another bridge: its public URL's origin, with the path
 * we use here. A secure connection is never moved to a plain one: what a
 * service sends in its join (its secret) would cross the network in the clear.
 */
export function signalingUrlOn(bridgeUrl: string, current: string): string {
  const target = new URL(bridgeUrl);
  if (new URL(current).protocol === 'wss:' && target.protocol !== 'https:') {
    throw new SignalingError('elsewhere', `join: the room's bridge (${bridgeUrl}) is not on HTTPS; a secure connection is not moved to a plain one`, bridgeUrl);
  }
  target.protocol = target.protocol === 'https:' ? 'wss:' : 'ws:';
  target.pathname = new URL(current).pathname;
  target.search = '';
  target.hash = '';
  return target.href;
}

interface Pending {
  method: RequestMethod;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

type NotificationHandler<N extends NotificationName> = (data: NotificationData<N>) => void;

export interface SignalingClientOptions {
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * A join answered `elsewhere` (the room lives on another bridge) is sent
   * there on this client's own: its socket moves (default). false: the error
   * is the caller's (the web client navigates instead, keeping the page
   * same-origin).
   */
  followRedirects?: boolean;
  /** How often the bridge is pinged, and how long its silence means it is gone (default: liveness.ts). */
  liveness?: LivenessTimes;
}

export class SignalingClient {
  #ws: WebSocket;
  #url: string;
  readonly #options: SignalingClientOptions;
  readonly #requestTimeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<NotificationName, Set<(data: never) => void>>();
  readonly #closeHandlers = new Set<(code: number, reason: string) => void>();
  readonly #liveness: LivenessTimes;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  /** Runs out when the bridge has sent nothing for the liveness timeout; every message restarts it. */
  #silence: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #nextId = 1;

  private constructor(ws: WebSocket, url: string, options: SignalingClientOptions, requestTimeoutMs: number, liveness: LivenessTimes) {
    this.#ws = ws;
    this.#url = url;
    this.#options = options;
    this.#requestTimeoutMs = requestTimeoutMs;
    this.#liveness = liveness;
    this.#listen(ws);
    // The bridge answers at once; a reply lost to a dead connection shows as silence.
    this.#heartbeat = setInterval(() => void this.request('ping', {}).catch(() => {}), liveness.pingIntervalMs);
    this.#heardFromBridge();
  }

  /** Opens the socket; rejects if it cannot be opened in time. */
  static async connect(url: string, options: SignalingClientOptions = {}): Promise<SignalingClient> {
    const { requestTimeoutMs = 10_000, liveness = DEFAULT_LIVENESS } = options;
    const problem = livenessProblem(liveness);
    if (problem) throw new RangeError(`signaling liveness: ${problem}`);
    return new SignalingClient(await open(url, options.connectTimeoutMs ?? 10_000), url, options, requestTimeoutMs, liveness);
  }

  /** The signaling URL this client is connected to (another bridge's, after a join was sent there). */
  get url(): string {
    return this.#url;
  }

  /** Only the current socket's messages and close count: one left behind for another bridge is forgotten. */
  #listen(ws: WebSocket): void {
    ws.addEventListener('message', (event) => ws === this.#ws && this.#onMessage(event.data));
    ws.addEventListener('close', (event) => ws === this.#ws && this.#onClose(event.code, event.reason));
  }

  get isOpen(): boolean {
    return !this.#closed && this.#ws.readyState === WebSocket.OPEN;
  }

  request<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    const sent = this.#send(method, data);
    if (method !== 'join' || this.#options.followRedirects === false) return sent;
    return sent.catch((error: unknown) => this.#joinElsewhere(error, data as RequestData<'join'>, 1)) as Promise<ResponseData<M>>;
  }

  /**
   * The room of a join lives on another bridge: this client moves there (a
   * new socket; handlers stay) and joins again. Before a join, nothing is
   * owed to the bridge left.
   */
  async #joinElsewhere(error: unknown, data: RequestData<'join'>, hop: number): Promise<ResponseData<'join'>> {
    if (!(error instanceof SignalingError) || error.code !== 'elsewhere' || !error.bridgeUrl) throw error;
    if (hop > MAX_JOIN_REDIRECTS) throw new SignalingError('elsewhere', `join: sent on more than ${MAX_JOIN_REDIRECTS} times (last to ${error.bridgeUrl}); the bridges disagree where the room lives`, error.bridgeUrl);
    if (this.#closed) throw new SignalingError('closed', 'join: connection closed');
    const url = signalingUrlOn(error.bridgeUrl, this.#url);
    const ws = await open(url, this.#options.connectTimeoutMs ?? 10_000);
    if (this.#closed) {
      ws.close(1000, 'client closed');
      throw new SignalingError('closed', 'join: connection closed');
    }
    const left = this.#ws;
    this.#ws = ws;
    this.#url = url;
    this.#listen(ws);
    left.close(1000, 'joining elsewhere');
    this.#heardFromBridge();
    return this.#send('join', data).catch((next: unknown) => this.#joinElsewhere(next, data, hop + 1));
  }

  #send<M extends RequestMethod>(method: M, data: RequestData<M>): Promise<ResponseData<M>> {
    if (!this.isOpen) return Promise.reject(new SignalingError('closed', `${method}: connection is closed`));
    const id = this.#nextId++;
    return new Promise<ResponseData<M>>((resolve, reject) => {
      const pending: Pending = { method, resolve: resolve as (data: unknown) => void, reject, timer: undefined };
      this.#pending.set(id, pending);
      this.#armTimeout(id, pending, this.#requestTimeoutMs);
      this.#ws.send(JSON.stringify({ id, method, data }));
    });
  }

  /** (Re)starts the wait for a request's reply. */
  #armTimeout(id: number, pending: Pending, ms: number): void {
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => {
      this.#pending.delete(id);
      pending.reject(new SignalingError('timeout', `${pending.method}: no response within ${ms} ms`));
    }, ms);
  }

  on<N extends NotificationName>(name: N, handler: NotificationHandler<N>): () => void {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler as (data: never) => void);
    return () => set.delete(handler as (data: never) => void);
  }

  onClose(handler: (code: number, reason: string) => void): () => void {
    this.#closeHandlers.add(handler);
    return () => this.#closeHandlers.delete(handler);
  }

  close(): void {
    this.#stopLiveness();
    this.#ws.close(1000, 'client closed');
  }

  #heardFromBridge(): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return; // closing: its end is reported by the socket
    clearTimeout(this.#silence);
    this.#silence = setTimeout(() => this.#giveUpOnBridge(), this.#liveness.timeoutMs);
  }

  /**
   * The bridge went silent: the connection is half open (or the bridge hung).
   * Closing would wait for a handshake nobody answers, so the close is
   * reported now and whatever the socket does later is ignored.
   */
  #giveUpOnBridge(): void {
    const { code, reason } = LIVENESS_CLOSE.noAnswer;
    this.#ws.close(code, reason);
    this.#onClose(code, `${reason} (nothing for ${this.#liveness.timeoutMs} ms)`);
  }

  #stopLiveness(): void {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#silence);
  }

  #onMessage(raw: unknown): void {
    if (this.#closed) return;
    this.#heardFromBridge();
    let message;
    try {
      message = serverMessageSchema.parse(JSON.parse(String(raw)));
    } catch {
      this.#protocolProblem('unparseable message from the bridge');
      return;
    }
    if ('notification' in message) {
      this.#dispatchNotification(message.notification, message.data);
      return;
    }
    const pending = message.id === null ? undefined : this.#pending.get(message.id);
    if (!pending) {
      if (!message.ok) this.#protocolProblem(`bridge error without a pending request: ${message.error.message}`);
      return;
    }
    this.#pending.delete(message.id!);
    clearTimeout(pending.timer);
    if (!message.ok) {
      pending.reject(new SignalingError(message.error.code, `${pending.method}: ${message.error.message}`, message.error.bridgeUrl));
      return;
    }
    const parsed = requests[pending.method].response.safeParse(message.data);
    if (parsed.success) pending.resolve(parsed.data);
    else pending.reject(new SignalingError('protocol', `${pending.method}: bad response: ${describeZodError(parsed.error)}`));
  }

  #dispatchNotification(name: string, data: unknown): void {
    if (!isNotificationName(name)) return; // newer bridge; ignore what we do not know
    const parsed = notifications[name].safeParse(data);
    if (!parsed.success) {
      this.#protocolProblem(`bad ${name} notification: ${describeZodError(parsed.error)}`);
      return;
    }
    if (name === 'waitingForHost' || name === 'waitingInLobby') this.#joinWaits((parsed.data as NotificationData<typeof name>).timeoutSeconds);
    for (const handler of this.#handlers.get(name) ?? []) handler(parsed.data as never);
  }

  /** The bridge holds our join (for a host, or in a lobby) up to `seconds`: its answer is awaited that long. */
  #joinWaits(seconds: number): void {
    for (const [id, pending] of this.#pending) {
      if (pending.method === 'join') this.#armTimeout(id, pending, seconds * 1000 + this.#requestTimeoutMs);
    }
  }

  #protocolProblem(message: string): void {
    console.warn(`signaling: ${message}`);
  }

  #onClose(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopLiveness();
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new SignalingError('closed', `${pending.method}: connection closed`));
    }
    this.#pending.clear();
    for (const handler of this.#closeHandlers) handler(code, reason);
  }
}

/** A WebSocket open to `url`, or a rejection if it cannot be opened within `timeoutMs`. */
function open(url: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      // Rejected first: closing a connecting socket fires its 'error' at once.
      reject(new SignalingError('timeout', `could not connect to ${url} within ${timeoutMs} ms`));
      ws.close();
    }, timeoutMs);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.addEventListener('error', () => {
      clearTimeout(timer);
      reject(new SignalingError('closed', `could not connect to ${url}`));
    });
  });
}
