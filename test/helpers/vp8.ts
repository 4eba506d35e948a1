// VP8 as a middlebox sees it on the wire (RFC 7741): enough to take RTP
// packets apart into frames, to see what end-to-end encryption hides, and to
// hand the frames to ffmpeg in an IVF file, the container VP8 decoders read.
import fs from 'node:fs';
import type { RtpPacket } from '../../media/rtp.ts';

/** Where the VP8 bitstream starts in an RTP payload: after the payload descriptor. */
function descriptorLength(payload: Buffer): number {
  let offset = 1;
  if (payload[0]! & 0x80) {
    const extension = payload[1]!;
    offset = 2;
    if (extension & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1; // picture id
    if (extension & 0x40) offset += 1; // TL0PICIDX
    if (extension & 0x30) offset += 1; // TID, KEYIDX
  }
  return offset;
}

/** The packet starts a frame (S bit, partition 0). */
function startsFrame(payload: Buffer): boolean {
  return (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
}

/**
 * A payload without its descriptor and, on a frame's first packet, without
 * the frame tag E2EE leaves in the clear (10 bytes on a keyframe, 3 otherwise):
 * what E2EE hides.
 */
export function vp8Hidden(payload: Buffer): Buffer {
  let offset = descriptorLength(payload);
  if (startsFrame(payload)) offset += (payload[offset]! & 0x01) === 0 ? 10 : 3;
  return payload.subarray(offset);
}

export interface Vp8Frame {
  keyframe: boolean;
  data: Buffer;
}

/**
 * One SSRC's packets put back together into whole frames, from its first
 * keyframe on (a decoder can start nowhere else). A frame with a packet
 * missing is left out, and so is everything after it until the next
 * keyframe, as a receiver would.
 */
export function vp8Frames(packets: readonly RtpPacket[]): Vp8Frame[] {
  const ordered = [...packets].sort((a, b) => a.sequence - b.sequence);
  const frames: Vp8Frame[] = [];
  let parts: Buffer[] = [];
  let previous: number | undefined;
  let broken = true;
  let keyframe = false;
  for (const packet of ordered) {
    if (packet.payload.length === 0) continue; // padding
    const contiguous = previous !== undefined && packet.sequence === ((previous + 1) & 0xffff);
    previous = packet.sequence;
    const bitstream = packet.payload.subarray(descriptorLength(packet.payload));
    if (startsFrame(packet.payload)) {
      keyframe = (bitstream[0]! & 0x01) === 0;
      // A frame whose end never came, or packets missing in between, lose a frame the next ones need.
      if (parts.length > 0 || !contiguous) broken = true;
      parts = [bitstream];
      if (keyframe) broken = false;
    } else if (!contiguous || parts.length === 0) {
      parts = [];
      broken = true;
      continue;
    } else {
      parts.push(bitstream);
    }
    if (packet.marker && !broken && parts.length > 0) {
      frames.push({ keyframe, data: Buffer.concat(parts) });
      parts = [];
    }
  }
  return frames;
}

/** Writes frames to an IVF file (the simple container libvpx and ffmpeg read VP8 from). */
export function writeIvf(file: string, frames: readonly Vp8Frame[]): void {
  // A keyframe says its size after its tag and start code (in the part E2EE leaves clear).
  const first = frames.find((f) => f.keyframe)?.data;
  const width = first ? first.readUInt16LE(6) & 0x3fff : 0;
  const height = first ? first.readUInt16LE(8) & 0x3fff : 0;
  const header = Buffer.alloc(32);
  header.write('DKIF', 0, 'ascii');
  header.writeUInt16LE(0, 4); // version
  header.writeUInt16LE(32, 6);
  header.write('VP80', 8, 'ascii');
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(30, 16); // time base: 1/30 s
  header.writeUInt32LE(1, 20);
  header.writeUInt32LE(frames.length, 24);
  const chunks: Buffer[] = [header];
  frames.forEach((frame, index) => {
    const frameHeader = Buffer.alloc(12);
    frameHeader.writeUInt32LE(frame.data.length, 0);
    frameHeader.writeBigUInt64LE(BigInt(index), 4);
    chunks.push(frameHeader, frame.data);
  });
  fs.writeFileSync(file, Buffer.concat(chunks));
}
