// The JWTs of the published contract. Operators mint them (with their API
// secret, or their own identity provider for join tokens) and the bridge
// verifies them, so their claims are part of the protocol. The audience says
// what a token is for: a token made for one purpose never passes for another.
import { z } from 'zod';
import { displayNameSchema, grantsSchema, roleSchema, roomNameSchema } from './protocol.ts';

export const TOKEN_AUDIENCE = {
  /** REST as the operator (HS256 with the API secret, issuer: the API key). */
  api: 'telebridge:api',
  /** REST for a member of one room, issued by the bridge at join (downloads of that room's recordings). */
  member: 'telebridge:member',
  /** Entering a room (the web client's ?jwt=, or a service's join). */
  join: 'telebridge:join',
} as const;

/** Claims of a member token: which room and which peer it was issued to. */
export const memberClaimsSchema = z.object({
  room: roomNameSchema,
  sub: z.string().min(1).max(64),
});
export type MemberClaims = z.infer<typeof memberClaimsSchema>;

/**
 * Claims of a join token (besides iss, aud, exp and nbf, which jose checks):
 * the room, or '*' for any; the name to show; the role; the grants.
 */
export const joinClaimsSchema = z.object({
  room: z.union([roomNameSchema, z.literal('*')]),
  name: displayNameSchema.optional(),
  role: roleSchema.default('participant'),
  grants: grantsSchema.default(grantsSchema.parse({})),
});
export type JoinClaims = z.infer<typeof joinClaimsSchema>;
