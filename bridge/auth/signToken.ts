// The one place tokens are signed with the API secret: the member tokens
// the bridge hands out, and what `npm run token` mints for operators.
import { SignJWT, type JWTPayload } from 'jose';
import type { ApiCredentials } from './ApiCredentials.ts';

export interface SignOptions {
  audience: string;
  /** e.g. '2h' or seconds; every token expires. */
  expiresIn: string | number;
  subject?: string;
}

export function signToken(credentials: ApiCredentials, claims: JWTPayload, options: SignOptions): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(credentials.key)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn);
  if (options.subject) jwt.setSubject(options.subject);
  return jwt.sign(new TextEncoder().encode(credentials.secret));
}
