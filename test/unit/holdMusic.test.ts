// The lobby's hold music: a loop of soft notes at the prompts' rate, under
// their level, that repeats without a click and is music (energy on its
// chords' notes, one chord at a time), not noise or silence.
import { describe, expect, it } from 'vitest';
import { MIX_RATE } from '../../media/codecs.ts';
import { HOLD_MUSIC } from '../../gateway/media/HoldMusic.ts';
import { rms, windowedToneShare } from '../helpers/audio.ts';

describe('hold music', () => {
  it('is a 9.6 s loop, audible but under the prompts, never clipped', () => {
    expect(HOLD_MUSIC.length).toBe(9.6 * MIX_RATE);
    const peak = Math.max(...HOLD_MUSIC.map(Math.abs));
    expect(peak).toBe(5000);
    expect(rms(HOLD_MUSIC)).toBeGreaterThan(1000);
    // Silence nowhere: every 100 ms has a note sounding.
    for (let i = 0; i < HOLD_MUSIC.length; i += MIX_RATE / 10) expect(rms(HOLD_MUSIC.subarray(i, i + MIX_RATE / 10))).toBeGreaterThan(300);
  });

  it('joins end to start as smoothly as it moves anywhere else (no click on repeat)', () => {
    let largestStep = 0;
    for (let i = 1; i < HOLD_MUSIC.length; i++) largestStep = Math.max(largestStep, Math.abs(HOLD_MUSIC[i]! - HOLD_MUSIC[i - 1]!));
    expect(Math.abs(HOLD_MUSIC[0]! - HOLD_MUSIC.at(-1)!)).toBeLessThan(largestStep);
  });

  it.each([
    { chord: 'C', turn: 0, notes: [523.25, 659.26, 783.99, 1046.5] },
    { chord: 'A minor', turn: 1, notes: [440, 523.25, 659.26, 880] },
    { chord: 'F', turn: 2, notes: [349.23, 440, 523.25, 698.46] },
    { chord: 'G', turn: 3, notes: [392, 493.88, 587.33, 783.99] },
  ])('plays the $chord chord in its turn: most of the energy on its notes', ({ turn, notes }) => {
    const length = 2.4 * MIX_RATE;
    const start = turn * length;
    // Past the first 0.6 s, the notes of the chord before have rung out.
    const stretch = HOLD_MUSIC.subarray(start + 0.6 * MIX_RATE, start + length);
    const onNotes = notes.reduce((sum, note) => sum + windowedToneShare(stretch, MIX_RATE, note), 0);
    expect(onNotes).toBeGreaterThan(0.6); // 0.68-0.85: 100 ms windows see notes between their 10 Hz bins
  });
});
