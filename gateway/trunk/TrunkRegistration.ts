import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type Srf from 'drachtio-srf';
import { Backoff } from '../../common/backoff.ts';
import type { Logger } from '../../common/logger.ts';

/** What /healthz and the bridge show about the trunk registration. */
export interface TrunkRegistrationStatus {
  state: 'registering' | 'registered' | 'failed';
  registrar: string;
  /** When the registrar drops our binding unless refreshed (ms since the epoch); only while registered. */
  expiresAt?: number;
  /** Why the latest attempt failed; cleared by a success. */
  lastError?: string;
  lastRegisteredAt?: number;
}

export interface TrunkRegistrationOptions {
  /** The trunk's SIP URI, e.g. 'sip:trunk.example.com:5070'; the REGISTER goes there. */
  registrar: string;
  username: string;
  password: string;
  /** What we ask for; the registrar may grant less, or demand more with a 423. */
  expiresSeconds: number;
  /** Where the trunk reaches us: our public SIP address, 'host:port'. */
  contactHost: string;
  logger: Logger;
}

interface TrunkRegistrationEvents {
  status: [TrunkRegistrationStatus];
}

/** drachtio-srf's response object, as much of it as we read. */
interface RegisterResponse {
  status: number;
  reason: string;
  get(name: string): string | undefined;
}

/** drachtio-srf's request() in its callback form (its type declarations differ). */
type SendRequest = (
  uri: string,
  opts: { method: 'REGISTER'; headers: Record<string, string>; auth: { username: string; password: string } },
  callback: (err: Error | null, req: { on(event: 'response', listener: (res: RegisterResponse) => void): void }) => void,
) => void;

/** Refresh at half the granted time, but not in a tight loop if the registrar grants almost nothing. */
const MIN_REFRESH_MS = 2000;
/** Failed registrations are retried after 5 s, doubling up to 5 minutes. */
const RETRY = { firstMs: 5000, maxMs: 5 * 60_000 };
/** The engine answers 408 after 32 s (timer F); this only catches a lost engine connection. */
const REQUEST_TIMEOUT_MS = 40_000;
/** stop() gives the un-REGISTER this long, so shutdown never hangs on the trunk. */
const UNREGISTER_TIMEOUT_MS = 2000;

/**
 * Keeps a registration with a SIP trunk: REGISTER with digest credentials,
 * refresh at half the granted expiry, retry failures with backoff. All
 * REGISTERs share one Call-ID, From tag and rising CSeq (RFC 3261 10.2),
 * which drachtio-server and the embedded engine both take from the app.
 */
export class TrunkRegistration extends EventEmitter<TrunkRegistrationEvents> {
  readonly #request: SendRequest;
  readonly #options: TrunkRegistrationOptions;
  readonly #logger: Logger;
  readonly #requestUri: string;
  readonly #aor: string;
  readonly #contactUri: string;
  readonly #callId = randomBytes(12).toString('hex');
  readonly #fromTag = randomBytes(6).toString('hex');
  #cseq = 0;
  #expiresSeconds: number;
  #status: TrunkRegistrationStatus;
  readonly #backoff = new Backoff(RETRY);
  /** Until when the registrar may hold a binding of ours (decides whether stop() un-REGISTERs). */
  #boundUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #stopped = false;

  private constructor(srf: Srf, options: TrunkRegistrationOptions) {
    super();
    this.#request = srf.request.bind(srf) as unknown as SendRequest;
    this.#options = options;
    this.#logger = options.logger;
    this.#expiresSeconds = options.expiresSeconds;
    const { requestUri, domain, transport } = parseRegistrar(options.registrar);
    this.#requestUri = requestUri;
    this.#aor = `sip:${options.username}@${domain}`;
    this.#contactUri = `sip:${options.username}@${options.contactHost}${transport ? `;transport=${transport}` : ''}`;
    this.#status = { state: 'registering', registrar: options.registrar };
  }

  /** Sends the first REGISTER now; `srf` must be connected to its engine. */
  static start(srf: Srf, options: TrunkRegistrationOptions): TrunkRegistration {
    const registration = new TrunkRegistration(srf, options);
    registration.#run();
    return registration;
  }

  get status(): TrunkRegistrationStatus {
    return { ...this.#status };
  }

  /** Stops refreshing and removes our binding (best effort, within a couple of seconds). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#timer);
    const deadline = Date.now() + UNREGISTER_TIMEOUT_MS;
    // A REGISTER on its way may still create a binding: let it finish before removing it.
    if (this.#inFlight) await settledWithin(this.#inFlight, UNREGISTER_TIMEOUT_MS);
    const now = Date.now();
    if (this.#boundUntil <= now || now >= deadline) return;
    try {
      const response = await this.#send(0, deadline - now);
      if (response.status < 300) this.#logger.info({ registrar: this.#options.registrar }, 'unregistered from the trunk');
      else this.#logger.warn({ registrar: this.#options.registrar, status: response.status }, 'trunk refused the un-REGISTER');
    } catch (error) {
      this.#logger.warn({ registrar: this.#options.registrar, reason: errorMessage(error) }, 'could not unregister from the trunk');
    }
  }

  #run(): void {
    this.#inFlight = this.#register().finally(() => (this.#inFlight = undefined));
  }

  async #register(): Promise<void> {
    let response: RegisterResponse;
    try {
      response = await this.#send(this.#expiresSeconds, REQUEST_TIMEOUT_MS);
    } catch (error) {
      return this.#failed(errorMessage(error));
    }
    if (response.status === 423 && this.#raiseExpires(response)) return this.#register();
    if (response.status >= 300) return this.#failed(`${response.status} ${response.reason}`.trim());
    this.#registered(grantedSeconds(response, this.#contactUri) ?? this.#expiresSeconds);
  }

  /** One REGISTER and its final response; drachtio-srf answers a 401/407 challenge with the credentials itself. */
  #send(expires: number, timeoutMs: number): Promise<RegisterResponse> {
    return new Promise((resolve, reject) => {
      // Unref'd: an unanswered REGISTER must not hold the process open after stop().
      const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs / 1000} s`)), timeoutMs).unref();
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(new Error(`could not send REGISTER: ${error.message}`));
      };
      const auth = { username: this.#options.username, password: this.#options.password };
      try {
        this.#request(this.#requestUri, { method: 'REGISTER', headers: this.#headers(expires), auth }, (err, req) => {
          if (err) return fail(err);
          req.on('response', (response) => {
            if (response.status < 200) return;
            clearTimeout(timer);
            // A digest retry went out with the next CSeq; count on from the one answered.
            this.#cseq = Math.max(this.#cseq, Number.parseInt(response.get('CSeq') ?? '', 10) || 0);
            resolve(response);
          });
        });
      } catch (error) {
        // srf throws rather than calling back when it has no engine connection.
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /**
   * A fresh object each time: drachtio-srf's digest retry rewrites it. The keys
   * are spelled as srf's digest client spells them ('call-id', 'CSeq', 'From'),
   * so its rewrite replaces ours instead of adding a second header.
   */
  #headers(expires: number): Record<string, string> {
    this.#cseq++;
    return {
      From: `<${this.#aor}>;tag=${this.#fromTag}`,
      To: `<${this.#aor}>`,
      'call-id': this.#callId,
      CSeq: `${this.#cseq} REGISTER`,
      Contact: `<${this.#contactUri}>`,
      Expires: String(expires),
    };
  }

  /** 423 Interval Too Brief: ask again for the registrar's Min-Expires (once it is more than we asked). */
  #raiseExpires(response: RegisterResponse): boolean {
    const min = positiveInt(response.get('Min-Expires'));
    if (min === undefined || min <= this.#expiresSeconds) return false;
    this.#logger.info({ registrar: this.#options.registrar, minExpires: min }, 'trunk wants a longer registration');
    this.#expiresSeconds = min;
    return true;
  }

  #registered(grantedSeconds: number): void {
    const now = Date.now();
    this.#boundUntil = now + grantedSeconds * 1000;
    if (this.#stopped) return;
    if (this.#status.state !== 'registered') {
      this.#logger.info({ registrar: this.#options.registrar, expires: grantedSeconds }, 'registered with the trunk');
    }
    this.#backoff.reset();
    this.#setStatus({ state: 'registered', registrar: this.#options.registrar, expiresAt: this.#boundUntil, lastRegisteredAt: now });
    this.#schedule(Math.max(grantedSeconds * 500, MIN_REFRESH_MS));
  }

  #failed(reason: string): void {
    if (this.#stopped) return;
    const retryMs = this.#backoff.next();
    this.#logger.warn({ registrar: this.#options.registrar, reason, retryInSeconds: retryMs / 1000 }, 'trunk registration failed');
    const { lastRegisteredAt } = this.#status;
    this.#setStatus({ state: 'failed', registrar: this.#options.registrar, lastError: reason, lastRegisteredAt });
    this.#schedule(retryMs);
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#run(), ms);
  }

  #setStatus(status: TrunkRegistrationStatus): void {
    this.#status = status;
    this.emit('status', this.status);
  }
}

/** The Request-URI (no user part, 10.2), the domain for our address-of-record, and any transport to keep. */
function parseRegistrar(registrar: string): { requestUri: string; domain: string; transport?: string } {
  const requestUri = registrar.replace(/^(sips?:)[^@;?]*@/i, '$1');
  const domain = /^sips?:(\[[^\]]+\]|[^:;?]+)/i.exec(requestUri)?.[1];
  if (!domain) throw new Error(`not a SIP URI: ${registrar}`);
  return { requestUri, domain, transport: /;transport=([a-z]+)/i.exec(requestUri)?.[1] };
}

/**
 * What the registrar granted: our Contact's ;expires in the 200 (it lists every
 * binding of the address-of-record), else its Expires header.
 */
function grantedSeconds(response: RegisterResponse, contactUri: string): number | undefined {
  const ours = stripParams(contactUri);
  for (const contact of splitContacts(response.get('Contact') ?? '')) {
    const uri = /<([^>]*)>/.exec(contact)?.[1] ?? contact.split(';')[0];
    if (stripParams(uri) !== ours) continue;
    const params = contact.slice(contact.lastIndexOf('>') + 1);
    const expires = positiveInt(/;\s*expires\s*=\s*(\d+)/i.exec(params)?.[1]);
    if (expires !== undefined) return expires;
  }
  return positiveInt(response.get('Expires'));
}

/** A Contact header value split at the commas between entries (not those inside <> or quotes). */
function splitContacts(value: string): string[] {
  const entries: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && c === '<') depth++;
    else if (!quoted && c === '>') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      entries.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  entries.push(value.slice(start).trim());
  return entries.filter(Boolean);
}

/** `sip:user@host:port` in lower case, for comparing a URI the registrar echoes (it may add parameters). */
function stripParams(uri: string): string {
  return uri.trim().split(/[;?]/)[0].toLowerCase();
}

function positiveInt(value: string | undefined): number | undefined {
  const n = Number(value?.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Waits for `promise`, or `ms`, whichever is first. */
async function settledWithin(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
