// RTP packets (RFC 3550 5.1) as the gateway and the audio-only recorder write
// and read them: the fixed header, CSRCs, the RFC 8285 header extension with
// the RFC 6464 audio level, padding, and everything that is not RTP.
import { describe, expect, it } from 'vitest';
import { AUDIO_LEVEL_EXTENSION_ID, audioLevelExtension, isRtcp, parseRtp, rtpPacket, sequenceDelta } from '../../media/rtp.ts';

const payload = Buffer.from([1, 2, 3, 4, 5]);
const basic = { payloadType: 111, sequence: 4242, timestamp: 123_456_789, ssrc: 0xdeadbeef, payload };

/** A packet with `bytes` patched in over rtpPacket's output. */
function patched(packet: Buffer, patch: Record<number, number>): Buffer {
  const copy = Buffer.from(packet);
  for (const [index, value] of Object.entries(patch)) copy[Number(index)] = value;
  return copy;
}

describe('RTP', () => {
  it('writes and reads back the fixed header and payload', () => {
    const packet = rtpPacket({ ...basic, marker: true });
    expect(packet.length).toBe(12 + payload.length);
    expect(packet[0]).toBe(0x80); // version 2, no padding, extension or CSRCs
    expect(parseRtp(packet)).toEqual({ ...basic, marker: true });
    expect(parseRtp(rtpPacket(basic))?.marker).toBe(false);
  });

  it('wraps out-of-range numbers into their fields', () => {
    const parsed = parseRtp(rtpPacket({ ...basic, payloadType: 0x80 | 8, sequence: 0x1_0005, timestamp: 2 ** 32 + 7, ssrc: -1 }));
    expect(parsed).toMatchObject({ payloadType: 8, marker: false, sequence: 5, timestamp: 7, ssrc: 0xffffffff });
  });

  it('skips the audio-level header extension to the payload', () => {
    const packet = rtpPacket({ ...basic, extension: audioLevelExtension(30) });
    expect(packet[0]! & 0x10).toBe(0x10);
    expect(parseRtp(packet)?.payload).toEqual(payload);
  });

  it('writes the RFC 6464 audio level: our id, the voice flag, -dBov clamped to 0..127', () => {
    const block = audioLevelExtension(42.4);
    expect(block.readUInt16BE(0)).toBe(0xbede);
    expect(block.readUInt16BE(2)).toBe(1);
    expect(block[4]).toBe(AUDIO_LEVEL_EXTENSION_ID << 4);
    expect(block[5]).toBe(0x80 | 42);
    expect(audioLevelExtension(-5, false)[5]).toBe(0);
    expect(audioLevelExtension(500)[5]).toBe(0x80 | 127);
  });

  it('skips CSRCs and removes padding', () => {
    const withCsrcs = Buffer.concat([patched(rtpPacket({ ...basic, payload: Buffer.alloc(0) }), { 0: 0x82 }), Buffer.alloc(8, 0xee), payload]);
    expect(parseRtp(withCsrcs)?.payload).toEqual(payload);
    const padded = Buffer.concat([patched(rtpPacket(basic), { 0: 0xa0 }), Buffer.from([0, 0, 3])]);
    expect(parseRtp(padded)?.payload).toEqual(payload);
  });

  it.each([
    ['an empty datagram', Buffer.alloc(0)],
    ['a header cut short', rtpPacket(basic).subarray(0, 11)],
    ['version 0 (STUN)', patched(rtpPacket(basic), { 0: 0x00 })],
    ['version 1', patched(rtpPacket(basic), { 0: 0x40 })],
    ['version 3', patched(rtpPacket(basic), { 0: 0xc0 })],
    ['RTCP (an SR read as payload type 72)', patched(rtpPacket(basic), { 1: 200 })],
    ['CSRCs past the end', patched(rtpPacket(basic), { 0: 0x8f })],
    ['an extension header past the end', patched(rtpPacket({ ...basic, payload: Buffer.alloc(0) }), { 0: 0x90 })],
    ['an extension longer than the packet', patched(rtpPacket({ ...basic, extension: audioLevelExtension(0) }), { 15: 9 })],
    ['more padding than payload', Buffer.concat([patched(rtpPacket(basic), { 0: 0xa0 }), Buffer.from([200])])],
  ])('refuses %s', (_what, packet) => {
    expect(parseRtp(packet)).toBeNull();
  });

  it('tells RTCP from RTP by the payload types RTCP packet types land on (RFC 5761)', () => {
    for (const type of [200, 201, 202, 203, 204]) expect(isRtcp(Buffer.from([0x80, type]))).toBe(true);
    for (const type of [0, 8, 71, 77, 96, 111, 0x80 | 71]) expect(isRtcp(Buffer.from([0x80, type]))).toBe(false);
    expect(isRtcp(Buffer.from([0x80]))).toBe(false);
  });

  it('compares sequence numbers across the 16-bit wrap', () => {
    expect(sequenceDelta(5, 3)).toBe(2);
    expect(sequenceDelta(3, 5)).toBe(-2);
    expect(sequenceDelta(1, 65535)).toBe(2);
    expect(sequenceDelta(65535, 1)).toBe(-2);
    expect(sequenceDelta(0x7fff, 0)).toBe(0x7fff);
    expect(sequenceDelta(0x8000, 0)).toBe(-0x8000);
  });
});
