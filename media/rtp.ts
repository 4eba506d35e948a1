// RTP (RFC 3550) fixed header, the RFC 8285 one-byte header extension and the
// RFC 6464 audio level, the parts a phone leg and the bridge link need.

/** The id the gateway declares for ssrc-audio-level on its producers. */
export const AUDIO_LEVEL_EXTENSION_ID = 1;
export const AUDIO_LEVEL_URI = 'urn:ietf:params:rtp-hdrext:ssrc-audio-level';

export interface RtpPacket {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  marker: boolean;
  payload: Buffer;
}

/** An RTP packet, optionally with a header extension block. */
export function rtpPacket(opts: {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer | Uint8Array;
  marker?: boolean;
  extension?: Buffer;
}): Buffer {
  const extensionLength = opts.extension?.length ?? 0;
  const packet = Buffer.allocUnsafe(12 + extensionLength + opts.payload.length);
  packet[0] = 0x80 | (opts.extension ? 0x10 : 0);
  packet[1] = (opts.marker ? 0x80 : 0) | (opts.payloadType & 0x7f);
  packet.writeUInt16BE(opts.sequence & 0xffff, 2);
  packet.writeUInt32BE(opts.timestamp >>> 0, 4);
  packet.writeUInt32BE(opts.ssrc >>> 0, 8);
  opts.extension?.copy(packet, 12);
  packet.set(opts.payload, 12 + extensionLength);
  return packet;
}

/** RFC 8285 one-byte-header block carrying the RFC 6464 audio level (0 loud .. 127 silent, -dBov). */
export function audioLevelExtension(levelDbov: number, voice = true): Buffer {
  const block = Buffer.alloc(8);
  block.writeUInt16BE(0xbede, 0);
  block.writeUInt16BE(1, 2); // one 32-bit word of elements
  block[4] = AUDIO_LEVEL_EXTENSION_ID << 4; // length field 0: one byte of data
  block[5] = (voice ? 0x80 : 0) | Math.min(127, Math.max(0, Math.round(levelDbov)));
  return block;
}

/** RTCP packet types 200-204 land on payload types 72-76 when read as RTP (RFC 5761). */
export function isRtcp(packet: Buffer): boolean {
  if (packet.length < 2) return false;
  const type = packet[1]! & 0x7f;
  return type >= 72 && type <= 76;
}

/** Parses an RTP packet; null for anything that is not one (RTCP, STUN, garbage). */
export function parseRtp(packet: Buffer): RtpPacket | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2 || isRtcp(packet)) return null;
  const csrcCount = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return null;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!; // padding
  if (offset > end) return null;
  return {
    payloadType: packet[1]! & 0x7f,
    marker: (packet[1]! & 0x80) !== 0,
    sequence: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payload: packet.subarray(offset, end),
  };
}

/** 16-bit sequence comparison across wrap-around: a positive result means a is newer. */
export function sequenceDelta(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}
