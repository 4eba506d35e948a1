import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/** A minimal RTP packet (RFC 3550 fixed header, no extensions). */
export function rtpPacket(opts: { payloadType: number; sequence: number; timestamp: number; ssrc: number; payload: Buffer; marker?: boolean }): Buffer {
  const header = Buffer.alloc(12);
  header[0] = 0x80;
  header[1] = (opts.marker ? 0x80 : 0) | (opts.payloadType & 0x7f);
  header.writeUInt16BE(opts.sequence & 0xffff, 2);
  header.writeUInt32BE(opts.timestamp >>> 0, 4);
  header.writeUInt32BE(opts.ssrc >>> 0, 8);
  return Buffer.concat([header, opts.payload]);
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

  start(target: { ip: string; port: number }, opts: { payloadType: number; ssrc: number; clockRate?: number; payloadBytes?: number }): void {
    const step = ((opts.clockRate ?? 48000) * 20) / 1000;
    this.#timer = setInterval(() => {
      const payload = Buffer.alloc(opts.payloadBytes ?? 60, 0x55);
      payload.writeUInt32BE(this.sent, 0);
      this.socket.send(
        rtpPacket({ payloadType: opts.payloadType, sequence: this.sent, timestamp: this.sent * step, ssrc: opts.ssrc, payload }),
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
