// The one comparison of a presented secret (API secret, SERVICE_SECRET, a
// room password, the metrics token) with the expected one.
import crypto from 'node:crypto';

/** Compared as SHA-256 digests, so the time taken tells neither the secret nor its length. */
export function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => crypto.createHash('sha256').update(text).digest();
  return crypto.timingSafeEqual(digest(given), digest(expected));
}
