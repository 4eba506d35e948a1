// How a bridge proves itself to another when it opens a cascade link: a
// short-lived token naming it, the room and the bridge it is for, with a
// nonce, signed with a key derived from the deployment's shared secret
// (API_SECRET), as the directory's records are. The home also checks that the
// bridge named is live in the directory, that the token is for it, and that
// it has not seen the token before (LinkTokenReplays): a token opens one link.
import crypto from 'node:crypto';

/** A token is good this long: it is made for one link, opened at once. */
const TOKEN_TTL_MS = 30_000;
/** Tokens remembered at most: far above what a deployment's bridges open in TOKEN_TTL_MS; above it, links are refused until some expire. */
const MAX_REMEMBERED_TOKENS = 10_000;

export interface LinkClaim {
  /** The calling bridge. */
  bridge: string;
  room: string;
}

/** A verified token: its claim, and what makes it single-use. */
export interface VerifiedLinkToken extends LinkClaim {
  nonce: string;
  expires: number;
}

function signature(secret: string, payload: string): string {
  const key = crypto.createHmac('sha256', secret).update('telebridge cascade link').digest();
  return crypto.createHmac('sha256', key).update(payload).digest('base64url');
}

/** `target`: the id of the bridge the link is opened to; the token is good there only. */
export function linkToken(secret: string, claim: LinkClaim & { target: string }, now = Date.now()): string {
  const body = { b: claim.bridge, r: claim.room, t: claim.target, n: crypto.randomBytes(16).toString('base64url'), exp: now + TOKEN_TTL_MS };
  const payload = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${payload}.${signature(secret, payload)}`;
}

/** The claim of a token that verifies, is for bridge `self` and has not expired; undefined otherwise. */
export function verifyLinkToken(secret: string, token: string, self: string, now = Date.now()): VerifiedLinkToken | undefined {
  const [payload, given, ...rest] = token.split('.');
  if (!payload || !given || rest.length > 0) return undefined;
  const expected = Buffer.from(signature(secret, payload));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !crypto.timingSafeEqual(actual, expected)) return undefined;
  const claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { b?: unknown; r?: unknown; t?: unknown; n?: unknown; exp?: unknown };
  if (typeof claim.b !== 'string' || typeof claim.r !== 'string' || typeof claim.n !== 'string' || typeof claim.exp !== 'number') return undefined;
  if (claim.t !== self || claim.exp < now) return undefined;
  return { bridge: claim.b, room: claim.r, nonce: claim.n, expires: claim.exp };
}

/** The nonces of the link tokens a home took, until they expire: a token seen before (a replay) is refused. */
export class LinkTokenReplays {
  readonly #seen = new Map<string, number>();
  readonly #max: number;

  constructor(max = MAX_REMEMBERED_TOKENS) {
    this.#max = max;
  }

  /** Why the token cannot be taken (seen before: a replay; or too many remembered: full), or undefined: it is remembered now. */
  take(token: VerifiedLinkToken, now = Date.now()): 'replayed' | 'full' | undefined {
    for (const [nonce, expires] of this.#seen) if (expires < now) this.#seen.delete(nonce);
    if (this.#seen.has(token.nonce)) return 'replayed';
    if (this.#seen.size >= this.#max) return 'full';
    this.#seen.set(token.nonce, token.expires);
    return undefined;
  }
}
