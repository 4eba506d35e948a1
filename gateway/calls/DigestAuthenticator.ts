import { createHash, createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from '../../common/sameSecret.ts';

/**
 * SIP digest authentication (RFC 3261 §22, RFC 7616 with qop=auth) for
 * callers the gateway does not trust by address. Unlike the middleware it
 * replaces, which trusted the realm and URI the caller wrote and never
 * expired a nonce, it:
 * - issues its own nonces: a time stamp and random bytes signed with a key of
 *   this process, so a flood of challenges costs no memory and a nonce nobody
 *   was given fails;
 * - expires them: an answer to an old nonce that is otherwise right gets a
 *   fresh challenge with stale=true, so the phone retries without asking its
 *   user again;
 * - counts: each use of a nonce must carry a higher nc than the last, so a
 *   captured Authorization header replayed later is refused;
 * - checks the realm and the URI against our own and the request's, and
 *   compares in constant time.
 */
export interface DigestCredentials {
  username: string;
  password: string;
  realm: string;
}

export type DigestVerdict =
  | { ok: true }
  /** Answer 401 with `challenge` (stale=true when only the nonce had expired). */
  | { ok: false; status: 401; challenge: string; stale: boolean; why: string }
  /** Wrong credentials: 403, no new challenge. */
  | { ok: false; status: 403; why: string };

export interface DigestOptions {
  /** How long a nonce may be answered. */
  nonceTtlMs?: number;
  /** Nonces whose counts are remembered at once (past that the oldest are dropped, and nonces as old get a fresh challenge). */
  maxTrackedNonces?: number;
  now?: () => number;
}

/** Longest Authorization header we parse: a real one is a few hundred bytes. */
const MAX_HEADER_LENGTH = 2048;

export class DigestAuthenticator {
  readonly #credentials: DigestCredentials;
  readonly #key = randomBytes(32);
  readonly #nonceTtlMs: number;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** Per nonce answered correctly: when it was issued and the highest nc seen, in order of first use. */
  readonly #counts = new Map<string, { issuedAt: number; nc: number }>();
  /** Nonces issued up to this time whose counts were dropped for room: they are not taken again. */
  #droppedUpTo = -1;

  constructor(credentials: DigestCredentials, options: DigestOptions = {}) {
    this.#credentials = credentials;
    this.#nonceTtlMs = options.nonceTtlMs ?? 5 * 60_000;
    this.#maxTracked = options.maxTrackedNonces ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** A WWW-Authenticate value with a fresh nonce. */
  challenge(stale = false): string {
    const issued = this.#now().toString(36);
    const body = `${issued}.${randomBytes(12).toString('base64url')}`;
    const nonce = `${body}.${this.#sign(body)}`;
    return `Digest realm="${this.#credentials.realm}", nonce="${nonce}", algorithm=MD5, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  /** Judges a request's Authorization header (undefined: none sent). */
  verify(request: { method: string; uri: string; authorization: string | undefined }): DigestVerdict {
    const refuse = (why: string, stale = false): DigestVerdict => ({ ok: false, status: 401, challenge: this.challenge(stale), stale, why });
    if (request.authorization === undefined) return refuse('no credentials');
    if (request.authorization.length > MAX_HEADER_LENGTH) return refuse('Authorization header too long');
    const fields = parseDigest(request.authorization);
    if (!fields) return refuse('not a Digest Authorization header');
    const { username, realm, nonce, uri, response, qop, nc, cnonce } = fields;
    if (!username || !realm || !nonce || !uri || !response) return refuse('incomplete Digest credentials');
    if ((fields.algorithm ?? 'MD5').toUpperCase() !== 'MD5') return refuse(`algorithm ${fields.algorithm} not offered`);
    if (qop !== 'auth' || !nc || !/^[0-9a-f]{8}$/i.test(nc) || !cnonce) return refuse('qop=auth with nc and cnonce required');
    if (realm !== this.#credentials.realm) return refuse(`realm ${realm} is not ours`);
    if (uri !== request.uri) return refuse('the credentials are for another request URI');
    const issuedAt = this.#issuedAt(nonce);
    if (issuedAt === undefined) return refuse('a nonce we did not issue');

    const { password } = this.#credentials;
    const ha1 = md5(`${username}:${realm}:${password}`);
    const ha2 = md5(`${request.method}:${uri}`);
    const expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
    // The username counts too: compared along with the response, in constant time.
    const right = sameSecret(response.toLowerCase(), expected) && sameSecret(username, this.#credentials.username);
    if (!right) return { ok: false, status: 403, why: 'wrong username or password' };
    if (this.#now() - issuedAt > this.#nonceTtlMs) return refuse('the nonce expired', true);
    const count = Number.parseInt(nc, 16);
    const seen = this.#counts.get(nonce);
    if (seen && count <= seen.nc) return refuse('a replayed nonce count');
    if (seen) seen.nc = count;
    else {
      if (issuedAt <= this.#droppedUpTo) return refuse('a nonce whose count was dropped', true);
      this.#forgetExpired();
      if (this.#counts.size >= this.#maxTracked) {
        const [oldest, { issuedAt: oldestIssued }] = this.#counts.entries().next().value!;
        this.#counts.delete(oldest);
        this.#droppedUpTo = Math.max(this.#droppedUpTo, oldestIssued);
      }
      this.#counts.set(nonce, { issuedAt, nc: count });
    }
    return { ok: true };
  }

  /** When we issued `nonce`, or undefined when its signature is not ours. */
  #issuedAt(nonce: string): number | undefined {
    const cut = nonce.lastIndexOf('.');
    if (cut < 0) return undefined;
    const body = nonce.slice(0, cut);
    if (!sameSecret(nonce.slice(cut + 1), this.#sign(body))) return undefined;
    const issued = Number.parseInt(body.split('.')[0]!, 36);
    return Number.isFinite(issued) ? issued : undefined;
  }

  /**
   * Counts of expired nonces are dropped (a late answer to one is stale
   * anyway), from the first used on until one still alive: nonces are used
   * soon after they are issued, so that order is near enough to their age.
   */
  #forgetExpired(): void {
    for (const [nonce, { issuedAt }] of this.#counts) {
      if (this.#now() - issuedAt <= this.#nonceTtlMs) break;
      this.#counts.delete(nonce);
    }
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url').slice(0, 22);
  }
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** The auth-params of a `Digest k="v", k=v` header (RFC 7616 §3.4), or undefined if it is not one. */
export function parseDigest(header: string): Record<string, string> | undefined {
  const match = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!match) return undefined;
  const fields: Record<string, string> = {};
  const param = /\s*([a-zA-Z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)/gy;
  const text = match[1]!;
  let found: RegExpExecArray | null;
  while (param.lastIndex < text.length && (found = param.exec(text))) {
    fields[found[1]!.toLowerCase()] = found[2] !== undefined ? found[2].replace(/\\(.)/g, '$1') : found[3]!;
  }
  return param.lastIndex === 0 && text.trim() !== '' ? undefined : fields;
}
