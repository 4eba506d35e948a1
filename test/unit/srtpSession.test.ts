// SRTP for phone legs (media/SrtpSession.ts): what one side protects the other
// unprotects; a tampered, replayed, foreign-keyed or plain packet is dropped.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { senderReport } from '../../media/rtcp.ts';
import { parseRtp, rtpPacket } from '../../media/rtp.ts';
import { SrtpSession, type SrtpKey } from '../../media/SrtpSession.ts';

const newKey = (): SrtpKey => ({ key: randomBytes(16), salt: randomBytes(14) });
const packet = (sequence: number, payload = Buffer.from('hello, phone leg: twenty bytes')) =>
  rtpPacket({ payloadType: 0, sequence, timestamp: sequence * 160, ssrc: 0x1234, payload });

describe('SrtpSession', () => {
  const [a, b] = [newKey(), newKey()];
  const gateway = () => new SrtpSession(a, b);
  const phone = () => new SrtpSession(b, a);

  it('round-trips RTP: the payload is hidden on the wire, authenticated (10 bytes) and restored', () => {
    const sender = gateway();
    const receiver = phone();
    const plain = packet(1);
    const wire = sender.protectRtp(plain);
    expect(wire.length).toBe(plain.length + 10);
    expect(wire.subarray(0, 12)).toEqual(plain.subarray(0, 12)); // the header stays readable
    expect(wire.includes(Buffer.from('phone leg'))).toBe(false);
    expect(receiver.unprotectRtp(wire)).toEqual(plain);
    expect(parseRtp(receiver.unprotectRtp(sender.protectRtp(packet(2)))!)?.sequence).toBe(2);
  });

  it('drops a tampered packet, one under another key, and plain RTP', () => {
    const receiver = phone();
    const wire = gateway().protectRtp(packet(1));
    const tampered = Buffer.from(wire);
    tampered[20]! ^= 1;
    expect(receiver.unprotectRtp(tampered)).toBeUndefined();
    expect(receiver.unprotectRtp(new SrtpSession(newKey(), a).protectRtp(packet(1)))).toBeUndefined();
    expect(receiver.unprotectRtp(packet(1))).toBeUndefined();
    expect(receiver.rejected).toBe(3);
    expect(receiver.unprotectRtp(wire)).toBeDefined();
  });

  it('takes each packet once: a replay is dropped, late ones within the window are taken, older ones are not', () => {
    const sender = gateway();
    const receiver = phone();
    const wires = new Map<number, Buffer>();
    for (let seq = 100; seq < 200; seq++) wires.set(seq, sender.protectRtp(packet(seq)));
    expect(receiver.unprotectRtp(wires.get(100)!)).toBeDefined();
    expect(receiver.unprotectRtp(wires.get(100)!)).toBeUndefined();
    expect(receiver.unprotectRtp(wires.get(150)!)).toBeDefined();
    expect(receiver.unprotectRtp(wires.get(120)!)).toBeDefined(); // late, within 64
    expect(receiver.unprotectRtp(wires.get(120)!)).toBeUndefined();
    expect(receiver.unprotectRtp(wires.get(199)!)).toBeDefined();
    expect(receiver.unprotectRtp(wires.get(130)!)).toBeUndefined(); // 69 behind: outside the window
    expect(receiver.rejected).toBe(3);
  });

  it('keeps counting across the 16-bit sequence wrap', () => {
    const sender = gateway();
    const receiver = phone();
    for (const seq of [65534, 65535, 0, 1]) expect(receiver.unprotectRtp(sender.protectRtp(packet(seq)))).toBeDefined();
    expect(receiver.unprotectRtp(sender.protectRtp(packet(65535)))).toBeUndefined();
  });

  it('round-trips RTCP, and drops it tampered', () => {
    const report = senderReport({ ssrc: 0x1234, rtpTimestamp: 160, packets: 10, octets: 1600, cname: 'gateway@test', report: null });
    const wire = gateway().protectRtcp(report);
    expect(wire.includes(Buffer.from('gateway@test'))).toBe(false);
    const receiver = phone();
    expect(receiver.unprotectRtcp(wire)).toEqual(report);
    const tampered = Buffer.from(wire);
    tampered[12]! ^= 1;
    expect(receiver.unprotectRtcp(tampered)).toBeUndefined();
  });
});
