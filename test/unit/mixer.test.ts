// Mix-minus for a room: each listener hears the sum of everyone but itself,
// clamped to 16 bits, never divided.
import { describe, expect, it } from 'vitest';
import { createCodec, FRAME_SAMPLES } from '../../media/codecs.ts';
import { Mixer } from '../../media/Mixer.ts';

const pcmu = createCodec('PCMU');

/** One 20 ms PCMU payload of a constant level, and the level it decodes to (G.711 is lossy). */
function tone(level: number): { payload: Buffer; heard: number } {
  const payload = Buffer.from(pcmu.encode(new Int16Array(FRAME_SAMPLES).fill(level)));
  return { payload, heard: pcmu.decode(payload)[0]! };
}

/** A mixer whose speakers (ssrc = index + 1) have each sent two packets at `levels`, past the jitter buffer's depth. */
function room(levels: Record<string, number>): Mixer {
  const mixer = new Mixer();
  Object.entries(levels).forEach(([speaker, level], index) => {
    mixer.addSource(index + 1, speaker, 'PCMU');
    for (const sequence of [0, 1]) mixer.push(index + 1, sequence, tone(level).payload);
  });
  return mixer;
}

/** What `listener` hears this tick, as the set of sample values (a constant level gives one). */
function hears(mixer: Mixer, listener: string | undefined): number[] {
  return [...new Set(mixer.mixMinus(listener, new Int16Array(FRAME_SAMPLES)))];
}

describe('mixer', () => {
  it('gives each speaker everyone else, and a listener who does not speak everyone', () => {
    const mixer = room({ alice: 1000, bob: -3000, carol: 8000 });
    mixer.mix();
    const [a, b, c] = [tone(1000).heard, tone(-3000).heard, tone(8000).heard];
    expect(hears(mixer, 'alice')).toEqual([b + c]);
    expect(hears(mixer, 'bob')).toEqual([a + c]);
    expect(hears(mixer, 'carol')).toEqual([a + b]);
    expect(hears(mixer, undefined)).toEqual([a + b + c]);
    expect(hears(mixer, 'dave')).toEqual([a + b + c]);
    expect([...mixer.frames.keys()].sort()).toEqual(['alice', 'bob', 'carol']);
  });

  it('clamps the sum to 16 bits for the listener but keeps the true total', () => {
    const mixer = room({ alice: 30000, bob: 30000, carol: -30000, dave: -30000, eve: -30000 });
    mixer.mix();
    const loud = tone(30000).heard;
    expect(hears(mixer, 'carol')).toEqual([loud * 2 - loud * 2]); // two up, two down: they cancel
    const quiet = room({ alice: 30000, bob: 30000, carol: 0 });
    quiet.mix();
    expect(hears(quiet, 'carol')).toEqual([32767]);
    expect(quiet.total[0]).toBe(loud * 2);
    const low = room({ alice: -30000, bob: -30000, carol: 0 });
    low.mix();
    expect(hears(low, 'carol')).toEqual([-32768]);
    // A speaker's own voice is taken out before clamping, so it never distorts what it hears.
    expect(hears(quiet, 'alice')).toEqual([loud]);
  });

  it('leaves out a speaker whose stream is still buffering, and packets of unknown streams', () => {
    const mixer = room({ alice: 1000 });
    mixer.addSource(2, 'bob', 'PCMU');
    mixer.push(2, 0, tone(5000).payload); // one packet: below the jitter buffer's depth
    mixer.push(99, 0, tone(5000).payload);
    mixer.push(99, 1, tone(5000).payload);
    mixer.mix();
    expect([...mixer.frames.keys()]).toEqual(['alice']);
    expect(hears(mixer, 'bob')).toEqual([tone(1000).heard]);
  });

  it('is silent for everyone once its speakers are removed', () => {
    const mixer = room({ alice: 1000, bob: 2000 });
    mixer.removeSource(1);
    mixer.mix();
    expect(hears(mixer, undefined)).toEqual([tone(2000).heard]);
    mixer.clear();
    mixer.mix();
    expect(hears(mixer, undefined)).toEqual([0]);
    expect(mixer.frames.size).toBe(0);
  });

  it('conceals a lost packet and a corrupt one, and keeps mixing the others', () => {
    const mixer = room({ alice: 1000 });
    mixer.addSource(2, 'bob', 'opus');
    // Not an Opus packet: TOC byte of a code 3 frame with a frame count of 0.
    for (const sequence of [0, 1]) mixer.push(2, sequence, Buffer.from([0x03, 0x00]));
    expect(() => mixer.mix()).not.toThrow();
    expect(mixer.frames.has('bob')).toBe(true);
    expect(hears(mixer, 'bob')).toEqual([tone(1000).heard]);
    // Alice's packet 2 never comes: G.711 conceals it with silence.
    mixer.push(1, 3, tone(1000).payload);
    mixer.mix();
    expect(mixer.frames.get('alice')?.[0]).toBe(tone(1000).heard);
    mixer.mix();
    expect(mixer.frames.get('alice')?.every((s) => s === 0)).toBe(true);
  });
});
