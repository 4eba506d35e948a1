// How a sender key reaches another participant through a bridge that must not
// read it: each participant makes an ECDH P-256 key pair, publishes the public
// half over signaling, and derives with each other participant a pairwise
// AES-GCM key that only the two of them can compute. Sender keys travel
// encrypted under it. All that crosses the bridge is base64 text: public keys
// and wrapped keys. Which public key really is whose is what the verification
// code (verificationCode.ts) lets people check.

import { type Bytes, bigEndian, concatBytes, fromBase64, toBase64 } from './bytes.ts';
import { NONCE_BYTES, SENDER_KEY_BYTES, type SenderKey, TAG_BYTES } from './frameKeys.ts';

const CURVE = { name: 'ECDH', namedCurve: 'P-256' } as const;
/** An uncompressed P-256 point: 0x04, x, y. */
const PUBLIC_KEY_BYTES = 65;
const encoder = new TextEncoder();
const PAIRWISE_INFO = encoder.encode('Telebridge E2EE pairwise key');
const WRAP_LABEL = encoder.encode('Telebridge E2EE sender key');
/** key id (8) | nonce (12) | encrypted sender key | tag */
const WRAPPED_BYTES = 8 + NONCE_BYTES + SENDER_KEY_BYTES + TAG_BYTES;

/** A public key or a wrapped key that is not what it should be: the message is dropped, and the reason says why. */
export class KeyExchangeError extends Error {
  override name = 'KeyExchangeError';
}

/** The raw bytes of a public key as it travels, refused unless it is a point on P-256. */
export async function importPublicKey(text: string): Promise<{ raw: Bytes; key: CryptoKey }> {
  let raw: Bytes;
  try {
    raw = fromBase64(text);
  } catch {
    throw new KeyExchangeError('public key is not base64');
  }
  if (raw.length !== PUBLIC_KEY_BYTES || raw[0] !== 0x04) throw new KeyExchangeError('not an uncompressed P-256 public key');
  try {
    // WebCrypto checks the point is on the curve: no invalid-curve tricks.
    return { raw, key: await crypto.subtle.importKey('raw', raw, CURVE, true, []) };
  } catch (error) {
    if (error instanceof DOMException) throw new KeyExchangeError('public key is not a point on P-256');
    throw error;
  }
}

/** Byte order of two public keys, so both ends put them in the same order. */
export function comparePublicKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Our ECDH key pair for the meeting. The private half cannot be exported, not even by us. */
export class PairwiseKeys {
  /** Ours, as it travels over signaling. */
  readonly publicKey: string;
  readonly #publicRaw: Bytes;
  readonly #privateKey: CryptoKey;

  private constructor(publicRaw: Bytes, privateKey: CryptoKey) {
    this.#publicRaw = publicRaw;
    this.publicKey = toBase64(publicRaw);
    this.#privateKey = privateKey;
  }

  static async create(): Promise<PairwiseKeys> {
    const pair = await crypto.subtle.generateKey(CURVE, false, ['deriveBits']);
    return new PairwiseKeys(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)), pair.privateKey);
  }

  /** The key we share with the holder of `peerPublicKey`; they derive the same one from ours. */
  async withPeer(peerPublicKey: string): Promise<PeerKey> {
    const peer = await importPublicKey(peerPublicKey);
    if (comparePublicKeys(peer.raw, this.#publicRaw) === 0) throw new KeyExchangeError('a peer with our own public key');
    const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer.key }, this.#privateKey, 256);
    // The raw ECDH output is not uniformly random: HKDF makes a key of it, bound to both public keys.
    const [low, high] = [this.#publicRaw, peer.raw].sort(comparePublicKeys);
    const secret = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    const key = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: concatBytes(PAIRWISE_INFO, low!, high!) },
      secret,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt', 'decrypt'],
    );
    return new PeerKey(key, this.#publicRaw, peer.raw);
  }
}

/** The AES-GCM key shared with one other participant, for the sender keys we exchange. */
export class PeerKey {
  readonly #key: CryptoKey;
  readonly #ours: Bytes;
  readonly #theirs: Bytes;

  constructor(key: CryptoKey, ours: Bytes, theirs: Bytes) {
    this.#key = key;
    this.#ours = ours;
    this.#theirs = theirs;
  }

  /**
   * The AAD names the direction and the key id: a wrapped key cannot be
   * reflected back to its sender as the peer's own, nor relabelled as
   * another generation.
   */
  #aad(from: Bytes, to: Bytes, keyId: Bytes): Bytes {
    return concatBytes(WRAP_LABEL, from, to, keyId);
  }

  /** Our sender key for this peer, as base64 text only they can open. */
  async wrap(key: SenderKey): Promise<string> {
    const keyId = bigEndian(key.keyId, 8);
    const iv = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
    const sealed = await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv, additionalData: this.#aad(this.#ours, this.#theirs, keyId) },
      this.#key,
      key.material,
    );
    return toBase64(concatBytes(keyId, iv, new Uint8Array(sealed)));
  }

  /** The peer's sender key from what they wrapped for us; throws KeyExchangeError for anything else. */
  async unwrap(wrapped: string): Promise<SenderKey> {
    let bytes: Bytes;
    try {
      bytes = fromBase64(wrapped);
    } catch {
      throw new KeyExchangeError('wrapped key is not base64');
    }
    if (bytes.length !== WRAPPED_BYTES) throw new KeyExchangeError(`wrapped key of ${bytes.length} bytes, not ${WRAPPED_BYTES}`);
    const keyId = bytes.subarray(0, 8);
    const id = new DataView(bytes.buffer).getBigUint64(0);
    if (id > BigInt(Number.MAX_SAFE_INTEGER)) throw new KeyExchangeError('wrapped key id out of range');
    try {
      const material = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(8, 8 + NONCE_BYTES), additionalData: this.#aad(this.#theirs, this.#ours, keyId) },
        this.#key,
        bytes.subarray(8 + NONCE_BYTES),
      );
      return { keyId: Number(id), material: new Uint8Array(material) };
    } catch (error) {
      if (error instanceof DOMException && error.name === 'OperationError') {
        throw new KeyExchangeError('wrapped key does not authenticate: not from this peer, or not for us');
      }
      throw error;
    }
  }
}
