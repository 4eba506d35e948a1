// Join tokens: who may enter which room, as whom, with which role and
// grants. Signed with the API secret (HS256, issuer: the API key, as
// `npm run token` makes them), or by the operator's identity provider with a
// public key (AUTH_PUBLIC_KEY_FILE) or a JWKS URL (AUTH_JWKS_URL). The
// header's algorithm picks the key, and an asymmetric key never verifies an
// HS256 token (no algorithm confusion).
import fs from 'node:fs';
import { createRemoteJWKSet, decodeProtectedHeader, importSPKI, jwtVerify, type JWTVerifyGetKey, type JWTPayload } from 'jose';
import { joinClaimsSchema, TOKEN_AUDIENCE, type JoinClaims } from '../../protocol/accessTokens.ts';
import type { ApiCredentials } from './ApiCredentials.ts';
import { describeJwtError } from './RestAuth.ts';

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export interface IdentityProvider {
  /** PEM SubjectPublicKeyInfo; its algorithm given by the token header. */
  publicKeyFile?: string;
  jwksUrl?: string;
  /** The iss the provider puts in its tokens; unset: not checked. */
  issuer?: string;
}

export class JoinRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinRefused';
  }
}

export interface VerifiedJoin extends JoinClaims {
  /** Who the token names (sub), if anyone. */
  subject: string | undefined;
}

type ProviderKey = { key: JWTVerifyGetKey; issuer: string | undefined };

export class JoinTokens {
  readonly #credentials: ApiCredentials;
  readonly #secret: Uint8Array;
  readonly #provider: ProviderKey | undefined;

  private constructor(credentials: ApiCredentials, provider: ProviderKey | undefined) {
    this.#credentials = credentials;
    this.#secret = new TextEncoder().encode(credentials.secret);
    this.#provider = provider;
  }

  static async create(credentials: ApiCredentials, provider: IdentityProvider = {}): Promise<JoinTokens> {
    let key: JWTVerifyGetKey | undefined;
    if (provider.jwksUrl) key = createRemoteJWKSet(new URL(provider.jwksUrl));
    else if (provider.publicKeyFile) {
      const pem = fs.readFileSync(provider.publicKeyFile, 'utf8');
      const imported = new Map<string, Awaited<ReturnType<typeof importSPKI>>>();
      key = async (header) => {
        const alg = header.alg ?? '';
        if (!ASYMMETRIC.includes(alg)) throw new JoinRefused(`token algorithm ${alg} not allowed`);
        let found = imported.get(alg);
        if (!found) imported.set(alg, (found = await importSPKI(pem, alg)));
        return found;
      };
    }
    return new JoinTokens(credentials, key && { key, issuer: provider.issuer });
  }

  /** The token's claims, if it may enter `room`; JoinRefused says why not. */
  async verify(token: string, room: string): Promise<VerifiedJoin> {
    const payload = await this.#payload(token);
    const claims = joinClaimsSchema.safeParse(payload);
    if (!claims.success) throw new JoinRefused(`token claims are invalid: ${claims.error.issues[0]?.path.join('.')}: ${claims.error.issues[0]?.message}`);
    if (claims.data.room !== '*' && claims.data.room !== room) throw new JoinRefused(`token is for room ${claims.data.room}, not ${room}`);
    return { ...claims.data, subject: payload.sub };
  }

  async #payload(token: string): Promise<JWTPayload> {
    const alg = headerAlg(token);
    try {
      if (alg === 'HS256') {
        return (await jwtVerify(token, this.#secret, { algorithms: ['HS256'], issuer: this.#credentials.key, audience: TOKEN_AUDIENCE.join })).payload;
      }
      if (!this.#provider) throw new JoinRefused(`token algorithm ${alg} not allowed: no identity provider is configured`);
      return (await jwtVerify(token, this.#provider.key, { algorithms: ASYMMETRIC, audience: TOKEN_AUDIENCE.join, issuer: this.#provider.issuer })).payload;
    } catch (error) {
      if (error instanceof JoinRefused) throw error;
      throw new JoinRefused(describeJwtError(error));
    }
  }
}

function headerAlg(token: string): string {
  try {
    return decodeProtectedHeader(token).alg ?? '';
  } catch {
    throw new JoinRefused('malformed token');
  }
}
