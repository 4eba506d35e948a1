import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { audioLevelExtension, parseRtp, rtpPacket, type RtpPacket } from '../../media/rtp.ts';

export { AUDIO_LEVEL_EXTENSION_ID, audioLevelExtension, parseRtp, rtpPacket } from '../../media/rtp.ts';

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
  readonly packets: RtpPacket[] = [];

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
