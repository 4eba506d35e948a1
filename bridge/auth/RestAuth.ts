// Who is calling REST, and what each caller may do. Deny by default: every
// /api route must be listed in ROUTE_PERMISSIONS (an unlisted one stops the
// server at startup), and a caller gets only what its kind allows.
import { errors, jwtVerify } from 'jose';
import { sameSecret } from '../../common/sameSecret.ts';
import { memberClaimsSchema, TOKEN_AUDIENCE } from '../../protocol/accessTokens.ts';
import { SERVICE_USER } from '../../protocol/serviceAuth.ts';
import type { ApiCredentials } from './ApiCredentials.ts';
import { signToken } from './signToken.ts';

export type Permission =
  | 'rooms:list'
  | 'rooms:read'
  | 'rooms:close'
  | 'participants:remove'
  | 'participants:mute'
  | 'dialOut:list'
  | 'dialOut:start'
  | 'dialOut:stop'
  | 'dialOut:audit'
  | 'dialIn:resolve'
  | 'recordings:list'
  | 'recordings:start'
  | 'recordings:stop'
  | 'recordings:download'
  | 'bridge:read'
  | 'bridge:drain';

/** Every REST route and the permission it needs ("METHOD /route/:pattern"). */
export const ROUTE_PERMISSIONS: Readonly<Record<string, Permission>> = {
  'GET /api/rooms': 'rooms:list',
  'GET /api/rooms/:room': 'rooms:read',
  'DELETE /api/rooms/:room': 'rooms:close',
  'DELETE /api/rooms/:room/participants/:peerId': 'participants:remove',
  'POST /api/rooms/:room/participants/:peerId/mute': 'participants:mute',
  'GET /api/rooms/:room/dial-out': 'dialOut:list',
  'POST /api/rooms/:room/dial-out': 'dialOut:start',
  'DELETE /api/rooms/:room/dial-out/:callId': 'dialOut:stop',
  'GET /api/dial-outs': 'dialOut:audit',
  'GET /api/dial-in/:pin': 'dialIn:resolve',
  'GET /api/rooms/:room/recordings': 'recordings:list',
  'POST /api/rooms/:room/recordings': 'recordings:start',
  'DELETE /api/rooms/:room/recordings/:id': 'recordings:stop',
  'GET /api/recordings/:room/:name': 'recordings:download',
  'GET /api/bridge': 'bridge:read',
  'POST /api/bridge/drain': 'bridge:drain',
};

/**
 * - operator: the API key and secret, or a JWT signed with the secret;
 * - service: the gateway and recorders (SERVICE_SECRET), for the lookups they
 *   make: a room by PIN, whether a room is live;
 * - member: someone in a room (a token the bridge gave them at join), for
 *   that room's recordings.
 */
export type RestCaller = { kind: 'operator' } | { kind: 'service' } | { kind: 'member'; room: string; peerId: string };

const SERVICE_PERMISSIONS: ReadonlySet<Permission> = new Set(['rooms:read', 'dialIn:resolve']);
const MEMBER_PERMISSIONS: ReadonlySet<Permission> = new Set(['recordings:list', 'recordings:download']);

/** How long a member token lasts: a meeting's length, not a credential to keep. */
const MEMBER_TOKEN_TTL = '12h';

export class Unauthenticated extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unauthenticated';
  }
}

export class RestAuth {
  readonly #credentials: ApiCredentials;
  readonly #key: Uint8Array;
  readonly #serviceSecret: string | undefined;

  constructor(credentials: ApiCredentials, serviceSecret: string | undefined) {
    this.#credentials = credentials;
    this.#key = new TextEncoder().encode(credentials.secret);
    this.#serviceSecret = serviceSecret;
  }

  /**
   * The caller an Authorization header proves, from `Basic key:secret`,
   * `Basic service:<SERVICE_SECRET>` or `Bearer <jwt>`; or from a member
   * token in the query (`access_token`), for links a browser follows
   * without headers (downloads). Throws Unauthenticated saying why.
   */
  async authenticate(authorization: string | undefined, queryToken?: string): Promise<RestCaller> {
    if (!authorization) {
      if (queryToken) return this.#member(queryToken);
      throw new Unauthenticated('credentials required: Authorization: Bearer <token>, or Basic with the API key and secret');
    }
    const [scheme, value = ''] = authorization.split(/\s+/, 2);
    if (/^basic$/i.test(scheme ?? '')) return this.#basic(value);
    if (/^bearer$/i.test(scheme ?? '')) return this.#bearer(value);
    throw new Unauthenticated(`unsupported Authorization scheme ${JSON.stringify(scheme?.slice(0, 16))}: use Bearer or Basic`);
  }

  /** A token for REST calls about one room, given to a peer when it joins. */
  memberToken(room: string, peerId: string): Promise<string> {
    return signToken(this.#credentials, { room }, { audience: TOKEN_AUDIENCE.member, expiresIn: MEMBER_TOKEN_TTL, subject: peerId });
  }

  #basic(value: string): RestCaller {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    if (colon > 0 && user === this.#credentials.key && sameSecret(password, this.#credentials.secret)) return { kind: 'operator' };
    if (colon > 0 && user === SERVICE_USER && this.#serviceSecret && sameSecret(password, this.#serviceSecret)) return { kind: 'service' };
    throw new Unauthenticated('wrong API key or secret');
  }

  async #bearer(token: string): Promise<RestCaller> {
    const payload = await this.#verify(token, [TOKEN_AUDIENCE.api, TOKEN_AUDIENCE.member]);
    if (payload.aud === TOKEN_AUDIENCE.api || (Array.isArray(payload.aud) && payload.aud.includes(TOKEN_AUDIENCE.api))) return { kind: 'operator' };
    return this.#memberOf(payload);
  }

  async #member(token: string): Promise<RestCaller> {
    return this.#memberOf(await this.#verify(token, [TOKEN_AUDIENCE.member]));
  }

  #memberOf(payload: Record<string, unknown>): RestCaller {
    const claims = memberClaimsSchema.safeParse(payload);
    if (!claims.success) throw new Unauthenticated('token has no valid room and subject');
    return { kind: 'member', room: claims.data.room, peerId: claims.data.sub };
  }

  async #verify(token: string, audience: string[]): Promise<Record<string, unknown>> {
    try {
      const { payload } = await jwtVerify(token, this.#key, { algorithms: ['HS256'], issuer: this.#credentials.key, audience });
      return payload;
    } catch (error) {
      throw new Unauthenticated(describeJwtError(error));
    }
  }
}

/** May this caller do this, on this room (the route's :room, when it has one)? */
export function mayCall(caller: RestCaller, permission: Permission, room: string | undefined): boolean {
  switch (caller.kind) {
    case 'operator':
      return true;
    case 'service':
      return SERVICE_PERMISSIONS.has(permission);
    case 'member':
      return MEMBER_PERMISSIONS.has(permission) && room === caller.room;
  }
}

/** What was wrong with a token, in words an operator can act on. */
export function describeJwtError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not valid yet';
    if (error.claim === 'aud') return 'token is not for this use';
    if (error.claim === 'iss') return 'token issuer is not trusted';
    return `token claim ${error.claim} is invalid: ${error.reason}`;
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'token signature is invalid';
  if (error instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (error instanceof errors.JOSEError) return 'malformed token';
  return 'invalid token';
}
