// SDES (RFC 4568): SRTP keys carried in the SDP as a=crypto lines. We take
// and offer one suite, AES_CM_128_HMAC_SHA1_80, the one every SRTP phone and
// trunk supports; a line with session parameters or an MKI is passed over,
// as RFC 4568 6.1 lets an answerer do with what it does not support.
import { randomBytes } from 'node:crypto';
import { SRTP_KEY_LENGTH, SRTP_SALT_LENGTH, type SrtpKey } from '../../media/SrtpSession.ts';

export const SDES_SUITE = 'AES_CM_128_HMAC_SHA1_80';

/** One a=crypto line as sdp-transform reads it. */
export interface CryptoLine {
  id: number;
  suite: string;
  config: string;
  sessionConfig?: string;
}

/** The far end's choice: its tag (echoed in an answer) and its key. */
export interface SdesOffer {
  tag: number;
  key: SrtpKey;
}

export function newSrtpKey(): SrtpKey {
  return { key: randomBytes(SRTP_KEY_LENGTH), salt: randomBytes(SRTP_SALT_LENGTH) };
}

export function cryptoLine(tag: number, key: SrtpKey): CryptoLine {
  return { id: tag, suite: SDES_SUITE, config: `inline:${Buffer.concat([key.key, key.salt]).toString('base64')}` };
}

/** The first line we can use, or undefined. */
export function chooseCrypto(lines: readonly CryptoLine[] | undefined): SdesOffer | undefined {
  for (const line of lines ?? []) {
    if (line.suite !== SDES_SUITE || line.sessionConfig) continue;
    const key = readInlineKey(line.config);
    if (key) return { tag: line.id, key };
  }
  return undefined;
}

/**
 * `inline:<base64 key||salt>[|lifetime][|MKI:length]`; undefined for a key of
 * the wrong size, several keys, or an MKI (which would change every packet's layout).
 */
function readInlineKey(config: string): SrtpKey | undefined {
  if (config.includes(';')) return undefined; // several key parameters
  const match = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|(2\^\d{1,2}|\d{1,20}))?(\|.*)?$/.exec(config);
  if (!match || match[3]) return undefined;
  const bytes = Buffer.from(match[1]!, 'base64');
  if (bytes.length !== SRTP_KEY_LENGTH + SRTP_SALT_LENGTH) return undefined;
  return { key: bytes.subarray(0, SRTP_KEY_LENGTH), salt: bytes.subarray(SRTP_KEY_LENGTH) };
}
