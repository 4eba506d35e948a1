// Minimal RTCP (RFC 3550 §6): a compound sender report with one reception
// report block and an SDES CNAME, and reading the last SR we received (for
// LSR/DLSR), so phones and trunks see us as a well-behaved RTP peer.

const NTP_EPOCH_OFFSET = 2_208_988_800; // seconds from 1900 to 1970

/** What we know about the stream we receive, for the report block. */
export class ReceptionStats {
  #base: number | undefined;
  #maxSequence = 0;
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #lastSrNtpMiddle = 0;
  #lastSrAt = 0;
  ssrc: number | undefined;

  onRtp(sequence: number, ssrc: number): void {
    this.ssrc = ssrc;
    this.#received++;
    if (this.#base === undefined) {
      this.#base = sequence;
      this.#maxSequence = sequence;
      return;
    }
    const delta = (sequence - this.#maxSequence) & 0xffff;
    if (delta > 0 && delta < 0x8000) {
      if (sequence < this.#maxSequence) this.#cycles += 0x10000;
      this.#maxSequence = sequence;
    }
  }

  /** Remembers the middle 32 bits of a received SR's NTP time (RFC 3550 LSR). */
  onRtcp(packet: Buffer): void {
    for (let offset = 0; offset + 20 <= packet.length; ) {
      const type = packet[offset + 1];
      const length = (packet.readUInt16BE(offset + 2) + 1) * 4;
      if (type === 200) {
        this.#lastSrNtpMiddle = packet.readUInt32BE(offset + 10);
        this.#lastSrAt = Date.now();
      }
      offset += length;
    }
  }

  /** The 24-byte report block, or null before anything was received. */
  reportBlock(): Buffer | null {
    if (this.#base === undefined || this.ssrc === undefined) return null;
    const extendedMax = this.#cycles + this.#maxSequence;
    const expected = extendedMax - this.#base + 1;
    const lost = Math.max(0, expected - this.#received);
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction = expectedInterval > 0 && lostInterval > 0 ? Math.min(255, Math.floor((lostInterval << 8) / expectedInterval)) : 0;
    const block = Buffer.alloc(24);
    block.writeUInt32BE(this.ssrc >>> 0, 0);
    block.writeUInt32BE(((fraction << 24) | Math.min(lost, 0x7fffff)) >>> 0, 4);
    block.writeUInt32BE(extendedMax >>> 0, 8);
    block.writeUInt32BE(0, 12); // interarrival jitter: not measured
    block.writeUInt32BE(this.#lastSrNtpMiddle >>> 0, 16);
    const delay = this.#lastSrAt ? Math.round(((Date.now() - this.#lastSrAt) / 1000) * 65536) : 0;
    block.writeUInt32BE(this.#lastSrNtpMiddle ? delay >>> 0 : 0, 20);
    return block;
  }
}

/** SR (with our send counters and at most one report block) + SDES CNAME, as one compound packet. */
export function senderReport(opts: {
  ssrc: number;
  rtpTimestamp: number;
  packets: number;
  octets: number;
  cname: string;
  report: Buffer | null;
}): Buffer {
  const blocks = opts.report ? 1 : 0;
  const sr = Buffer.alloc(28 + 24 * blocks);
  sr[0] = 0x80 | blocks;
  sr[1] = 200;
  sr.writeUInt16BE(sr.length / 4 - 1, 2);
  sr.writeUInt32BE(opts.ssrc >>> 0, 4);
  const now = Date.now() / 1000 + NTP_EPOCH_OFFSET;
  const seconds = Math.floor(now);
  sr.writeUInt32BE(seconds >>> 0, 8);
  sr.writeUInt32BE(Math.floor((now - seconds) * 0x100000000) >>> 0, 12);
  sr.writeUInt32BE(opts.rtpTimestamp >>> 0, 16);
  sr.writeUInt32BE(opts.packets >>> 0, 20);
  sr.writeUInt32BE(opts.octets >>> 0, 24);
  opts.report?.copy(sr, 28);

  const cname = Buffer.from(opts.cname.slice(0, 255));
  const itemLength = 2 + cname.length + 1; // type, length, text, end-of-list
  const sdes = Buffer.alloc(8 + Math.ceil(itemLength / 4) * 4);
  sdes[0] = 0x81;
  sdes[1] = 202;
  sdes.writeUInt16BE(sdes.length / 4 - 1, 2);
  sdes.writeUInt32BE(opts.ssrc >>> 0, 4);
  sdes[8] = 1; // CNAME
  sdes[9] = cname.length;
  cname.copy(sdes, 10);
  return Buffer.concat([sr, sdes]);
}
