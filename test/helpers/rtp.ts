import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export const AUDIO_LEVEL_EXTENSION_ID = 1;

/** An RTP packet (RFC 3550 fixed header, optionally a header extension block). */
export function rtpPacket(opts: {
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  payload: Buffer;
  marker?: boolean;
  extension?: Buffer;
}): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80 | (opts.extension ? 0x10 : 0);
  header[1] = (opts.marker ? 0x80 : 0) | (opts.payloadType & 0x7f);
  header.writeUInt16BE(opts.sequence & 0xffff, 2);
  header.writeUInt32BE(opts.timestamp >>> 0, 4);
  header.writeUInt32BE(opts.ssrc >>> 0, 8);
  return Buffer.concat(opts.extension ? [header, opts.extension, opts.payload] : [header, opts.payload]);
}

/** RFC 8285 one-byte-header block carrying the RFC 6464 audio level (0 loud .. 127 silent, -dBov). */
export function audioLevelExtension(levelDbov: number): Buffer {
  const block = Buffer.alloc(8);
  block.writeUInt16BE(0xbede, 0);
  block.writeUInt16BE(1, 2); // one 32-bit word of elements
  block[4] = AUDIO_LEVEL_EXTENSION_ID << 4; // length field 0: one byte of data
  block[5] = 0x80 | Math.min(127, Math.max(0, Math.round(levelDbov))); // voice activity + level
  return block;
}

export function parseRtp(packet: Buffer): { payloadType: number; sequence: number; ssrc: number; payload: Buffer } | null {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return null;
  const payloadType = packet[1]! & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return null; // RTCP
  const csrcCount = packet[0]! & 0x0f;
  let offset = 12 + 4 * csrcCount;
  if (packet[0]! & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return { payloadType, sequence: packet.readUInt16BE(2), ssrc: packet.readUInt32BE(8), payload: packet.subarray(offset) };
}

/** Sends a steady RTP stream (20 ms packets) to a target; each payload carries its index. */
export class RtpSender {
  readonly socket = dgram.createSocket('udp4');
  sent = 0;
  #timer: NodeJS.Timeout | undefined;

  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return (this.socket.address() as AddressInfo).port;
  }

  start(
    target: { ip: string; port: number },
    opts: { payloadType: number; ssrc: number; clockRate?: number; payloadBytes?: number; audioLevel?: number },
  ): void {
    const step = ((opts.clockRate ?? 48000) * 20) / 1000;
    const extension = opts.audioLevel === undefined ? undefined : audioLevelExtension(opts.audioLevel);
    this.#timer = setInterval(() => {
      const payload = Buffer.alloc(opts.payloadBytes ?? 60, 0x55);
      payload.writeUInt32BE(this.sent, 0);
      this.socket.send(
        rtpPacket({ payloadType: opts.payloadType, sequence: this.sent, timestamp: this.sent * step, ssrc: opts.ssrc, payload, extension }),
        target.port,
        target.ip,
      );
      this.sent++;
    }, 20);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  close(): void {
    this.stop();
    this.socket.close();
  }
}

/** Counts RTP packets arriving on a local UDP port. */
export class RtpReceiver {
  readonly socket = dgram.createSocket('udp4');
  readonly packets: { payloadType: number; sequence: number; ssrc: number; payload: Buffer }[] = [];

  async bind(): Promise<number> {
    this.socket.on('message', (msg) => {
      const rtp = parseRtp(msg);
      if (rtp) this.packets.push(rtp);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return (this.socket.address() as AddressInfo).port;
  }

  get count(): number {
    return this.packets.length;
  }

  close(): void {
    this.socket.close();
  }
}
