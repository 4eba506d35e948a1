// RTCP (RFC 3550 6) as a phone leg sends it: a compound SR + SDES CNAME, with
// one reception report block on the stream it receives (loss, extended
// highest sequence, LSR/DLSR from the peer's last SR).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReceptionStats, senderReport } from '../../media/rtcp.ts';

const NTP_EPOCH_OFFSET = 2_208_988_800;
const NOW = Date.UTC(2026, 0, 1, 12, 0, 0, 250);

/** The RTCP packets of a compound packet, by the length each declares. */
function split(compound: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  for (let offset = 0; offset < compound.length; ) {
    const length = (compound.readUInt16BE(offset + 2) + 1) * 4;
    packets.push(compound.subarray(offset, offset + length));
    offset += length;
  }
  return packets;
}

/** The fields of a report block. */
function block(b: Buffer) {
  return {
    ssrc: b.readUInt32BE(0),
    fractionLost: b[4]!,
    cumulativeLost: b.readUInt32BE(4) & 0xffffff,
    extendedMax: b.readUInt32BE(8),
    lsr: b.readUInt32BE(16),
    dlsr: b.readUInt32BE(20),
  };
}

function received(stats: ReceptionStats, sequences: number[], ssrc = 0x1234): ReceptionStats {
  for (const sequence of sequences) stats.onRtp(sequence, ssrc);
  return stats;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => (from + i) & 0xffff);

/** A peer's SR whose NTP timestamp has `middle` as its middle 32 bits. */
function peerSr(middle: number): Buffer {
  const sr = Buffer.alloc(28);
  sr[0] = 0x80;
  sr[1] = 200;
  sr.writeUInt16BE(6, 2);
  sr.writeUInt32BE(0x5555, 4);
  sr.writeUInt16BE(middle >>> 16, 10);
  sr.writeUInt16BE(middle & 0xffff, 12);
  return sr;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RTCP sender report', () => {
  const opts = { ssrc: 0xcafebabe, rtpTimestamp: 160_000, packets: 1000, octets: 160_000, cname: 'gateway@192.0.2.5' };

  it('is an SR with our counters followed by an SDES with our CNAME, each 32-bit aligned', () => {
    const [sr, sdes, ...rest] = split(senderReport({ ...opts, report: null }));
    expect(rest).toEqual([]);
    expect(sr!.length).toBe(28);
    expect(sr![0]).toBe(0x80); // version 2, no report blocks
    expect(sr![1]).toBe(200);
    expect(sr!.readUInt32BE(4)).toBe(opts.ssrc);
    expect(sr!.readUInt32BE(8)).toBe(Math.floor(NOW / 1000) + NTP_EPOCH_OFFSET);
    expect(sr!.readUInt32BE(12) / 2 ** 32).toBeCloseTo(0.25, 6);
    expect([sr!.readUInt32BE(16), sr!.readUInt32BE(20), sr!.readUInt32BE(24)]).toEqual([160_000, 1000, 160_000]);

    expect(sdes![0]).toBe(0x81); // one chunk
    expect(sdes![1]).toBe(202);
    expect(sdes!.length % 4).toBe(0);
    expect(sdes!.readUInt32BE(4)).toBe(opts.ssrc);
    expect(sdes![8]).toBe(1); // CNAME
    expect(sdes!.subarray(10, 10 + sdes![9]!).toString()).toBe(opts.cname);
    expect(sdes![10 + sdes![9]!]).toBe(0); // the item list ends with a null octet
  });

  it('carries a report block when given one', () => {
    const report = received(new ReceptionStats(), range(1, 10)).reportBlock();
    const [sr] = split(senderReport({ ...opts, report }));
    expect(sr![0]).toBe(0x81);
    expect(sr!.length).toBe(52);
    expect(sr!.subarray(28)).toEqual(report);
  });

  it('ends a CNAME of any length with a null octet within 32-bit alignment', () => {
    for (let length = 1; length <= 9; length++) {
      const [, sdes] = split(senderReport({ ...opts, cname: 'x'.repeat(length), report: null }));
      expect(sdes!.length).toBe(8 + Math.ceil((3 + length) / 4) * 4);
      expect(sdes![10 + length]).toBe(0);
    }
  });
});

describe('RTCP reception report', () => {
  it('has nothing to report before the first packet', () => {
    expect(new ReceptionStats().reportBlock()).toBeNull();
  });

  it('reports no loss for a complete stream, with the sender SSRC and highest sequence', () => {
    expect(block(received(new ReceptionStats(), range(100, 50)).reportBlock()!)).toMatchObject({
      ssrc: 0x1234,
      fractionLost: 0,
      cumulativeLost: 0,
      extendedMax: 149,
    });
  });

  it('reports loss since the last report as a fraction of 256, and in total', () => {
    const stats = received(new ReceptionStats(), range(0, 10).filter((s) => s !== 3 && s !== 7));
    expect(block(stats.reportBlock()!)).toMatchObject({ fractionLost: Math.floor((2 * 256) / 10), cumulativeLost: 2, extendedMax: 9 });
    received(stats, range(10, 10));
    expect(block(stats.reportBlock()!)).toMatchObject({ fractionLost: 0, cumulativeLost: 2, extendedMax: 19 });
  });

  it('counts sequence cycles across the 16-bit wrap and ignores a reordered old packet', () => {
    const stats = received(new ReceptionStats(), [...range(65530, 6), 1, 0, 2, 65535]);
    expect(block(stats.reportBlock()!)).toMatchObject({ extendedMax: 0x10000 + 2, cumulativeLost: 0 });
  });

  it('never reports negative loss when packets come twice', () => {
    const stats = received(new ReceptionStats(), [1, 2, 2, 3, 3, 3]);
    expect(block(stats.reportBlock()!)).toMatchObject({ fractionLost: 0, cumulativeLost: 0 });
  });

  it('echoes the last SR it got (LSR) and the time since, in 1/65536 s (DLSR)', () => {
    const stats = received(new ReceptionStats(), [1]);
    expect(block(stats.reportBlock()!)).toMatchObject({ lsr: 0, dlsr: 0 });
    stats.onRtcp(Buffer.concat([peerSr(0x12345678), Buffer.from([0x81, 202, 0, 1, 0, 0, 0x55, 0x55])]));
    vi.setSystemTime(NOW + 1500);
    expect(block(stats.reportBlock()!)).toMatchObject({ lsr: 0x12345678, dlsr: 1.5 * 65536 });
  });

  it('reads an SR that follows another packet in the compound', () => {
    const rr = Buffer.alloc(32);
    rr[0] = 0x81;
    rr[1] = 201;
    rr.writeUInt16BE(7, 2);
    const stats = received(new ReceptionStats(), [1]);
    stats.onRtcp(Buffer.concat([rr, peerSr(0xabcdef01)]));
    expect(block(stats.reportBlock()!).lsr).toBe(0xabcdef01);
  });

  it.each([
    ['an empty datagram', Buffer.alloc(0)],
    ['a packet cut short', peerSr(1).subarray(0, 12)],
    ['a length past the end', Buffer.concat([Buffer.from([0x80, 201, 0xff, 0xff]), Buffer.alloc(20)])],
    ['garbage', Buffer.from('not rtcp at all, just text')],
  ])('survives %s and keeps no LSR from it', (_what, packet) => {
    const stats = received(new ReceptionStats(), [1]);
    expect(() => stats.onRtcp(packet)).not.toThrow();
    expect(block(stats.reportBlock()!).lsr).toBe(0);
  });
});
