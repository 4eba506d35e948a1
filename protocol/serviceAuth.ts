// How a service (the SIP gateway, a recorder) presents itself to the
// bridge's REST API: HTTP Basic, with this user name and the SERVICE_SECRET
// the bridge and its services share. The bridge lets services make only the
// lookups they need (a room by PIN, whether a room is live).

/** The user name a service presents with SERVICE_SECRET as its password. */
export const SERVICE_USER = 'service';

/**
 * The headers that identify a service; none without a secret (the bridge
 * then answers 401, which the caller reports).
 */
export function serviceAuthorization(secret: string | undefined): Record<string, string> {
  if (!secret) return {};
  // btoa takes Latin-1 only: encode the secret as UTF-8 bytes first, as the bridge decodes it.
  const bytes = new TextEncoder().encode(`${SERVICE_USER}:${secret}`);
  return { authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}
