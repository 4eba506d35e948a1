// One encoded frame, encrypted. The layout is
//
//   clear prefix | SFrame header | AES-GCM ciphertext | 16-byte tag
//
// The clear prefix stays first, where the packetiser and the bridge look:
// VP8's frame tag (RFC 6386 section 9.1; 3 bytes, 10 on a keyframe, whose
// start code and size Chromium's depacketiser reads) and Opus's TOC byte.
// Without a prefix the rest is exactly an SFrame ciphertext (RFC 9605), and
// the prefix is SFrame's "metadata": authenticated as AAD = header + prefix,
// so neither can be changed on the way, nor the keyframe bit flipped.

import { type Bytes, concatBytes } from './bytes.ts';
import { type FrameKey, NONCE_BYTES, TAG_BYTES } from './frameKeys.ts';
import { encodeHeader, parseHeader, type SFrameHeader } from './sframeHeader.ts';

/** The codecs whose frames we know how to leave routable. Others are refused, never sent in the clear. */
export type FrameCodec = 'vp8' | 'opus';

const VP8_KEYFRAME_PREFIX = 10;
const VP8_DELTA_PREFIX = 3;
const OPUS_PREFIX = 1;

/**
 * How many leading bytes of this frame stay in the clear. For VP8 the frame
 * itself says whether it is a keyframe (the P bit, bit 0 of the first byte, is
 * 0), so sender and receiver agree without being told; undefined when the
 * frame is shorter than its prefix, which no valid VP8 or Opus frame is.
 */
export function clearPrefixLength(frame: Uint8Array, codec: FrameCodec): number | undefined {
  if (frame.length === 0) return undefined;
  const length = codec === 'opus' ? OPUS_PREFIX : (frame[0]! & 0x01) === 0 ? VP8_KEYFRAME_PREFIX : VP8_DELTA_PREFIX;
  return frame.length >= length ? length : undefined;
}

/** RFC 9605 section 4.4.3: the salt XOR the counter, big-endian in the nonce's last bytes. */
function nonce(key: FrameKey, counter: number): Bytes {
  const out = key.salt.slice();
  const high = Math.floor(counter / 2 ** 32);
  const view = new DataView(out.buffer);
  view.setUint32(NONCE_BYTES - 8, view.getUint32(NONCE_BYTES - 8) ^ high);
  view.setUint32(NONCE_BYTES - 4, view.getUint32(NONCE_BYTES - 4) ^ (counter >>> 0));
  return out;
}

/** Encrypts all but the first `clearBytes` of `frame` under `key` as frame number `counter`. */
export async function sealFrame(key: FrameKey, counter: number, frame: Bytes, clearBytes: number): Promise<Bytes> {
  const header = encodeHeader({ keyId: key.keyId, counter });
  const prefix = frame.subarray(0, clearBytes);
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv: nonce(key, counter), additionalData: concatBytes(header, prefix) },
    key.aead,
    frame.subarray(clearBytes),
  );
  return concatBytes(prefix, header, new Uint8Array(sealed));
}

/** A received frame taken apart: what its header says, before any key is chosen. */
export interface ParsedFrame {
  readonly header: SFrameHeader;
  readonly frame: Bytes;
  readonly clearBytes: number;
  readonly headerEnd: number;
}

/** The header after the clear prefix; undefined when the frame is too short to be one of ours. */
export function parseFrame(frame: Bytes, clearBytes: number): ParsedFrame | undefined {
  const parsed = parseHeader(frame, clearBytes);
  if (!parsed || frame.length - parsed.end < TAG_BYTES) return undefined;
  return { header: parsed.header, frame, clearBytes, headerEnd: parsed.end };
}

/** The plaintext frame, or undefined when it does not authenticate under `key` (wrong key, or changed on the way). */
export async function openFrame(key: FrameKey, { header, frame, clearBytes, headerEnd }: ParsedFrame): Promise<Bytes | undefined> {
  const prefix = frame.subarray(0, clearBytes);
  try {
    const plain = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: nonce(key, header.counter), additionalData: concatBytes(frame.subarray(clearBytes, headerEnd), prefix) },
      key.aead,
      frame.subarray(headerEnd),
    );
    return concatBytes(prefix, new Uint8Array(plain));
  } catch (error) {
    // WebCrypto's answer to a tag mismatch; anything else is a bug, not a bad frame.
    if (error instanceof DOMException && error.name === 'OperationError') return undefined;
    throw error;
  }
}
