import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

interface StreamStats {
  packets: number;
  bytes: number;
  /** Extended sequence numbers (wraps counted). */
  first: number;
  highest: number;
}

/** Receives many RTP streams on one UDP socket and counts them per SSRC. */
export class RtpSink {
  readonly socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 << 20 });
  readonly streams = new Map<number, StreamStats>();
  #counting = false;

  async bind(): Promise<number> {
    this.socket.on('message', (msg) => {
      if (!this.#counting || msg.length < 12) return;
      const pt = msg[1]! & 0x7f;
      if ((pt >= 72 && pt <= 76) || pt === 127) return; // RTCP, and mediasoup's bandwidth probation
      const ssrc = msg.readUInt32BE(8);
      const seq = msg.readUInt16BE(2);
      const s = this.streams.get(ssrc);
      if (!s) {
        this.streams.set(ssrc, { packets: 1, bytes: msg.length, first: seq, highest: seq });
        return;
      }
      let extended = (s.highest & ~0xffff) + seq;
      if (extended < s.highest - 0x8000) extended += 0x10000;
      if (extended > s.highest) s.highest = extended;
      s.packets++;
      s.bytes += msg.length;
    });
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return (this.socket.address() as AddressInfo).port;
  }

  /** Starts a fresh measurement window. */
  begin(): void {
    this.streams.clear();
    this.#counting = true;
  }

  end(): { streams: number; packets: number; expected: number; bytes: number } {
    this.#counting = false;
    let packets = 0;
    let expected = 0;
    let bytes = 0;
    for (const s of this.streams.values()) {
      packets += s.packets;
      bytes += s.bytes;
      expected += s.highest - s.first + 1;
    }
    return { streams: this.streams.size, packets, expected, bytes };
  }

  close(): void {
    this.socket.close();
  }
}
