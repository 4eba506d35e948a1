// How a bridge proves itself to another when it opens a cascade link: a
// short-lived token naming it and the room, signed with a key derived from
// the deployment's shared secret (API_SECRET), as the directory's records
// are. The home also checks that the bridge named is live in the directory.
import crypto from 'node:crypto';

/** A token is good this long: it is made for one link, opened at once. */
const TOKEN_TTL_MS = 30_000;

export interface LinkClaim {
  bridge: string;
  room: string;
}

function signature(secret: string, payload: string): string {
  const key = crypto.createHmac('sha256', secret).update('telebridge cascade link').digest();
  return crypto.createHmac('sha256', key).update(payload).digest('base64url');
}

export function linkToken(secret: string, claim: LinkClaim, now = Date.now()): string {
  const payload = Buffer.from(JSON.stringify({ b: claim.bridge, r: claim.room, exp: now + TOKEN_TTL_MS })).toString('base64url');
  return `${payload}.${signature(secret, payload)}`;
}

/** The claim of a token that verifies and has not expired; undefined otherwise. */
export function verifyLinkToken(secret: string, token: string, now = Date.now()): LinkClaim | undefined {
  const [payload, given, ...rest] = token.split('.');
  if (!payload || !given || rest.length > 0) return undefined;
  const expected = Buffer.from(signature(secret, payload));
  const actual = Buffer.from(given);
  if (actual.length !== expected.length || !crypto.timingSafeEqual(actual, expected)) return undefined;
  const claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { b?: unknown; r?: unknown; exp?: unknown };
  if (typeof claim.b !== 'string' || typeof claim.r !== 'string' || typeof claim.exp !== 'number' || claim.exp < now) return undefined;
  return { bridge: claim.b, room: claim.r };
}
