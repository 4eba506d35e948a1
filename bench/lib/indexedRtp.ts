// RTP packets that carry their own index in the first 4 bytes of the
// payload, so one packet can be followed over several paths: an SFU rewrites
// SSRCs, sequence numbers and header extensions per consumer (and again per
// pipe), never an audio payload. The sender keeps each packet's send time,
// and an ArrivalLog each packet's arrival, both on this process's clock.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { audioLevelExtension, parseRtp, rtpPacket } from '../../media/rtp.ts';
import { AUDIO_PT } from './syntheticMedia.ts';

const PAYLOAD_BYTES = 100; // Opus-sized, as syntheticMedia's audio
const TICK_MS = 5;

/** Opus-sized audio packets, one every `intervalMs`, each numbered in its payload; paced from a clock, not by a drifting timer. */
export class IndexedRtpSender {
  readonly socket = dgram.createSocket('udp4');
  /** Send time (performance.now()) of each packet, by index. */
  readonly sentAt: number[] = [];
  #timer: NodeJS.Timeout | undefined;

  async bind(address: string): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
  }

  get sent(): number {
    return this.sentAt.length;
  }

  start(target: { ip: string; port: number }, ssrc: number, intervalMs: number): void {
    const startedAt = performance.now();
    // A speaking participant's level: the room's speaker detection has its usual work.
    const extension = audioLevelExtension(30);
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / intervalMs);
      while (this.sent < due) {
        const index = this.sent;
        const payload = Buffer.alloc(PAYLOAD_BYTES, 0x42);
        payload.writeUInt32BE(index, 0);
        const packet = rtpPacket({ payloadType: AUDIO_PT, sequence: index & 0xffff, timestamp: index * 48 * intervalMs, ssrc, payload, extension });
        this.sentAt.push(performance.now());
        this.socket.send(packet, target.port, target.ip);
      }
    }, TICK_MS);
  }

  close(): void {
    clearInterval(this.#timer);
    this.socket.close();
  }
}

/** Where a consumer sends: the arrival time (performance.now()) of each indexed packet, the first copy of it. */
export class ArrivalLog {
  readonly socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  readonly arrivedAt = new Map<number, number>();

  async bind(address: string): Promise<number> {
    this.socket.on('message', (message) => {
      const now = performance.now();
      const rtp = parseRtp(message);
      // RTCP and mediasoup's bandwidth probation (payload type 127) carry no index.
      if (!rtp || rtp.payloadType === 127 || rtp.payload.length < 4) return;
      const index = rtp.payload.readUInt32BE(0);
      if (!this.arrivedAt.has(index)) this.arrivedAt.set(index, now);
    });
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
    return (this.socket.address() as AddressInfo).port;
  }

  close(): void {
    this.socket.close();
  }
}
