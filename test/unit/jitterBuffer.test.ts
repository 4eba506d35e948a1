// The jitter buffer in front of the mixer: one 20 ms packet out per tick, in
// sequence order, null for a packet that never came (the decoder conceals it),
// undefined while not playing (silence).
import { describe, expect, it } from 'vitest';
import { JitterBuffer } from '../../media/JitterBuffer.ts';

/** A payload that names its sequence number, so the tests can tell packets apart. */
const packet = (sequence: number) => Buffer.from(`#${sequence}`);

/** What `ticks` pulls return: sequence numbers, 'lost' for null, 'silent' for undefined. */
function play(buffer: JitterBuffer, ticks: number): (number | 'lost' | 'silent')[] {
  return Array.from({ length: ticks }, () => {
    const payload = buffer.pull();
    if (payload === undefined) return 'silent';
    if (payload === null) return 'lost';
    return Number(payload.toString().slice(1));
  });
}

function filled(sequences: number[], targetFrames?: number, maxFrames?: number): JitterBuffer {
  const buffer = new JitterBuffer(targetFrames, maxFrames);
  for (const sequence of sequences) buffer.push(sequence, packet(sequence));
  return buffer;
}

describe('jitter buffer', () => {
  it('is silent until the target depth is queued, then plays in order', () => {
    const buffer = new JitterBuffer(3);
    expect(play(buffer, 1)).toEqual(['silent']);
    buffer.push(10, packet(10));
    buffer.push(11, packet(11));
    expect(play(buffer, 1)).toEqual(['silent']);
    buffer.push(12, packet(12));
    expect(play(buffer, 3)).toEqual([10, 11, 12]);
  });

  it('puts reordered packets back in order', () => {
    expect(play(filled([1, 3, 2, 5, 4]), 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it('puts packets reordered before playback starts back in order', () => {
    expect(play(filled([101, 100, 102]), 3)).toEqual([100, 101, 102]);
    // Further back than maxFrames it is a new stream: what was queued goes.
    expect(play(filled([20, 5, 6], 2, 10), 5)).toEqual([5, 6, 'lost', 'lost', 'silent']);
  });

  it('reports a lost packet as null, in its place', () => {
    expect(play(filled([1, 2, 4, 5]), 5)).toEqual([1, 2, 'lost', 4, 5]);
  });

  it('drops a packet that arrives after its turn, and a duplicate of one played', () => {
    const buffer = filled([1, 2, 4]);
    expect(play(buffer, 3)).toEqual([1, 2, 'lost']);
    buffer.push(3, packet(3)); // late
    buffer.push(2, packet(2)); // duplicate
    buffer.push(5, packet(5));
    expect(play(buffer, 2)).toEqual([4, 5]);
  });

  it('plays across the 16-bit sequence wrap, reordered too', () => {
    expect(play(filled([65534, 0, 65535, 1]), 4)).toEqual([65534, 65535, 0, 1]);
  });

  it('skips ahead when more than maxFrames back up (a fast sender or a burst)', () => {
    const burst = Array.from({ length: 15 }, (_, i) => 65530 + i).map((s) => s & 0xffff);
    expect(play(filled(burst, 2, 10), 11)).toEqual([...burst.slice(5), 'lost']);
  });

  it('conceals up to two missing packets, then rebuffers a stream that stopped', () => {
    const buffer = filled([1, 2]);
    expect(play(buffer, 5)).toEqual([1, 2, 'lost', 'lost', 'silent']);
    // It comes back (after a pause: the sequence went on meanwhile) and buffers again first.
    buffer.push(50, packet(50));
    expect(play(buffer, 1)).toEqual(['silent']);
    buffer.push(51, packet(51));
    expect(play(buffer, 2)).toEqual([50, 51]);
  });

  it('keeps concealing while later packets are queued', () => {
    const buffer = filled([1, 2, 7]);
    expect(play(buffer, 7)).toEqual([1, 2, 'lost', 'lost', 'lost', 'lost', 7]);
  });

  it('follows a sender that restarted its sequence far back', () => {
    const buffer = filled([5000, 5001]);
    expect(play(buffer, 2)).toEqual([5000, 5001]);
    buffer.push(20, packet(20));
    buffer.push(21, packet(21));
    expect(play(buffer, 2)).toEqual([20, 21]);
  });
});
