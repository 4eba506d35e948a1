import { Backoff } from '../common/backoff.ts';
import type { Logger } from '../common/logger.ts';
import { setTimeout as delay } from 'node:timers/promises';
import type { AuthMode, NotificationData, RequestData, TrunkRegistration } from '../protocol/protocol.ts';
import { SignalingClient, type SignalingClientOptions } from '../protocol/SignalingClient.ts';

export interface BridgeControlOptions {
  signalingUrl: string;
  /** The bridge's SERVICE_SECRET. */
  secret: string | undefined;
  /** How the bridge lists this gateway (in /healthz). */
  name: string;
  /** Whether a trunk is configured for calling out. */
  dialOut: boolean;
  logger: Logger;
  /** Timeouts of the connection (tests shorten them); default: SignalingClient's. */
  signaling?: SignalingClientOptions;
  onDialOut(request: NotificationData<'dialOutRequested'>): void;
  onCancel(callId: string, reason: NotificationData<'dialOutCancelled'>['reason']): void;
}

/**
 * The gateway's standing connection to the bridge: it offers the gateway for
 * dial-out, receives invitations to call, reports their progress and the
 * trunk registration. It reconnects until stopped, so a bridge restart
 * only pauses dial-out.
 */
export class BridgeControl {
  readonly #options: BridgeControlOptions;
  #client: SignalingClient | undefined;
  #trunkRegistration: TrunkRegistration | null = null;
  readonly #backoff = new Backoff({ firstMs: 500, maxMs: 10_000 });
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The bridge's AUTH_MODE, from its answer to our registration (again after each reconnection). */
  #authMode: AuthMode | undefined;
  readonly #firstRegistration = Promise.withResolvers<AuthMode>();

  constructor(options: BridgeControlOptions) {
    this.#options = options;
    void this.#connect();
  }

  /** Tells the bridge where a dial-out stands; lost if the bridge is unreachable (it then fails the call itself). */
  report(report: RequestData<'reportDialOut'>): void {
    void this.#client?.request('reportDialOut', report).catch((error: unknown) => {
      this.#options.logger.debug({ err: error, report }, 'dial-out report not delivered');
    });
  }

  /** The bridge's AUTH_MODE; undefined if we are not registered within `timeoutMs` (the bridge is down or starting). */
  async authMode(timeoutMs: number): Promise<AuthMode | undefined> {
    return this.#authMode ?? Promise.race([this.#firstRegistration.promise, delay(timeoutMs, undefined, { ref: false })]);
  }

  setTrunkRegistration(status: TrunkRegistration): void {
    this.#trunkRegistration = status;
    this.#sendTrunkRegistration();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#client?.close();
  }

  async #connect(): Promise<void> {
    const options = this.#options;
    let client: SignalingClient | undefined;
    try {
      client = await SignalingClient.connect(options.signalingUrl, options.signaling);
      if (this.#stopped) return client.close();
      client.on('dialOutRequested', (request) => options.onDialOut(request));
      client.on('dialOutCancelled', ({ callId, reason }) => options.onCancel(callId, reason));
      client.onClose(() => {
        this.#client = undefined;
        this.#retry();
      });
      const registered = this.#trunkRegistration;
      const { authMode } = await client.request('registerGateway', {
        name: options.name,
        secret: options.secret,
        dialOut: options.dialOut,
        trunkRegistration: registered,
      });
      this.#authMode = authMode;
      this.#firstRegistration.resolve(authMode);
      this.#client = client;
      this.#backoff.reset();
      options.logger.info('registered with the bridge');
      // A state set during the round trip was stored with no connection to go out on.
      if (this.#trunkRegistration !== registered) this.#sendTrunkRegistration();
    } catch (error) {
      options.logger.warn({ err: error }, 'cannot reach the bridge for dial-out; retrying');
      client?.close();
      this.#retry();
    }
  }

  /** Sends the newest trunk state; lost with the connection, whose successor registers with the newest anyway. */
  #sendTrunkRegistration(): void {
    void this.#client?.request('updateGateway', { trunkRegistration: this.#trunkRegistration }).catch(() => {});
  }

  #retry(): void {
    if (this.#stopped || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#connect();
    }, this.#backoff.next());
  }
}
