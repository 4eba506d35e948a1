// The SFrame header of RFC 9605 section 4.3: one config byte |X|K|K|K|Y|C|C|C|,
// then the key id (KID) and the counter (CTR) when they do not fit in 3 bits.
// A value below 8 sits in the config byte itself (X or Y clear); a larger one
// follows it in as few big-endian bytes as it needs, and the 3 bits hold that
// length minus one. Audio frames with a young key cost 1 header byte.

import { type Bytes, bigEndian, concatBytes } from './bytes.ts';

export interface SFrameHeader {
  /** Which generation of the sender's key encrypted the frame. */
  readonly keyId: number;
  /** The frame's number under that key: the nonce, never repeated under one key. */
  readonly counter: number;
}

/** Bytes a value takes after the config byte (0 when it fits in 3 bits). */
function extraLength(value: number): number {
  if (value < 8) return 0;
  let length = 1;
  while (value >= 256 ** length) length++;
  return length;
}

export function encodeHeader({ keyId, counter }: SFrameHeader): Bytes {
  const kidLength = extraLength(keyId);
  const ctrLength = extraLength(counter);
  const config =
    (kidLength ? 0x80 | ((kidLength - 1) << 4) : keyId << 4) | (ctrLength ? 0x08 | (ctrLength - 1) : counter);
  return concatBytes(
    Uint8Array.of(config),
    kidLength ? bigEndian(keyId, kidLength) : new Uint8Array(0),
    ctrLength ? bigEndian(counter, ctrLength) : new Uint8Array(0),
  );
}

/** A big-endian field, or undefined past 2^53 (more frames or keys than any meeting makes: refused, not rounded). */
function readField(bytes: Uint8Array, offset: number, length: number): number | undefined {
  let value = 0;
  for (let i = 0; i < length; i++) value = value * 256 + bytes[offset + i]!;
  return value <= Number.MAX_SAFE_INTEGER ? value : undefined;
}

/** The header at `offset`, and where it ends; undefined when the bytes cannot hold it. */
export function parseHeader(bytes: Uint8Array, offset: number): { header: SFrameHeader; end: number } | undefined {
  if (offset >= bytes.length) return undefined;
  const config = bytes[offset]!;
  const kidLength = config & 0x80 ? ((config >> 4) & 0x07) + 1 : 0;
  const ctrLength = config & 0x08 ? (config & 0x07) + 1 : 0;
  const end = offset + 1 + kidLength + ctrLength;
  if (end > bytes.length) return undefined;
  const keyId = kidLength ? readField(bytes, offset + 1, kidLength) : (config >> 4) & 0x07;
  const counter = ctrLength ? readField(bytes, offset + 1 + kidLength, ctrLength) : config & 0x07;
  if (keyId === undefined || counter === undefined) return undefined;
  return { header: { keyId, counter }, end };
}
