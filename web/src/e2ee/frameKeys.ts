// Sender keys and the frame keys derived from them. A sender key is the
// SFrame `base_key` of RFC 9605: 32 random bytes, numbered by generation (the
// KID in each frame's header). What encrypts frames is the AES-GCM key and
// nonce salt that section 4.4.2 derives from it, so a sender key never meets
// a frame directly, and the KID and cipher suite are bound into both.

import { type Bytes, bigEndian, concatBytes } from './bytes.ts';

/** The AES-GCM suites of RFC 9605 section 8.1; both have a 12-byte nonce and a 16-byte tag. */
export const CIPHER_SUITES = {
  AES_128_GCM_SHA256_128: { id: 0x0004, keyBits: 128, hash: 'SHA-256' },
  AES_256_GCM_SHA512_128: { id: 0x0005, keyBits: 256, hash: 'SHA-512' },
} as const;
export type CipherSuite = keyof typeof CIPHER_SUITES;

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Sender keys are 256 bits whatever the suite: HKDF input, never an AES key itself. */
export const SENDER_KEY_BYTES = 32;

/** One generation of a participant's sending key: what goes (wrapped) to each receiver. */
export interface SenderKey {
  readonly keyId: number;
  readonly material: Bytes;
}

/** What encrypts and decrypts one sender key's frames. */
export interface FrameKey {
  readonly keyId: number;
  readonly aead: CryptoKey;
  readonly salt: Bytes;
}

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

export function randomSenderKey(keyId: number): SenderKey {
  return { keyId, material: crypto.getRandomValues(new Uint8Array(SENDER_KEY_BYTES)) };
}

/** HKDF (Extract with an empty salt, then Expand) of `material`, as RFC 5869 and WebCrypto define it. */
async function hkdf(material: Bytes, info: Bytes, hash: string, bits: number): Promise<Bytes> {
  const secret = await crypto.subtle.importKey('raw', material, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'HKDF', hash, salt: EMPTY, info }, secret, bits));
}

/** RFC 9605 section 4.4.2: sframe_key and sframe_salt for this KID and suite. */
export async function deriveFrameKey(key: SenderKey, suite: CipherSuite): Promise<FrameKey> {
  const { id, keyBits, hash } = CIPHER_SUITES[suite];
  const context = concatBytes(bigEndian(key.keyId, 8), bigEndian(id, 2));
  const [rawKey, salt] = await Promise.all([
    hkdf(key.material, concatBytes(encoder.encode('SFrame 1.0 Secret key '), context), hash, keyBits),
    hkdf(key.material, concatBytes(encoder.encode('SFrame 1.0 Secret salt '), context), hash, NONCE_BYTES * 8),
  ]);
  const aead = await crypto.subtle.importKey('raw', rawKey, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { keyId: key.keyId, aead, salt };
}

const RATCHET_INFO = encoder.encode('Telebridge E2EE ratchet');

/**
 * The next generation of a sender key, for when someone joins: everyone who
 * holds this key computes the same next one without a message, while the
 * newcomer, handed only the next one, cannot run HKDF backwards to read what
 * was said before it arrived.
 */
export async function ratchetSenderKey(key: SenderKey): Promise<SenderKey> {
  return { keyId: key.keyId + 1, material: await hkdf(key.material, RATCHET_INFO, 'SHA-256', SENDER_KEY_BYTES * 8) };
}
