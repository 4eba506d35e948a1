// Music on hold for callers waiting in a room's lobby: a soft music-box
// arpeggio over four chords (C, A minor, F, G), synthesized once when the
// gateway starts, 8 kHz 16-bit like the prompts. Made in code rather than
// shipped as a recording: no licence to track, nothing to install.
import { MIX_RATE } from '../../media/codecs.ts';

/** The chords' notes (Hz), an octave above middle C: phones cut below ~300 Hz. */
const CHORDS: readonly (readonly [root: number, third: number, fifth: number, octave: number])[] = [
  [523.25, 659.26, 783.99, 1046.5], // C
  [440.0, 523.25, 659.26, 880.0], // A minor
  [349.23, 440.0, 523.25, 698.46], // F (its root is the lowest note played)
  [392.0, 493.88, 587.33, 783.99], // G
];

/** Each chord is played up and back down: root, third, fifth, octave, fifth, third, then root and fifth again. */
const PATTERN = [0, 1, 2, 3, 2, 1, 0, 2] as const;
const NOTE_SECONDS = 0.3;
/** How long a struck note rings on (exponential decay to ~5%), overlapping the next ones like a music box. */
const RING_SECONDS = 1.2;
/** Peak level: below the prompts (espeak at 0.8 reaches ~26000), so the music sits under them. */
const PEAK = 5000;

/** One loop of the music (9.6 s); played end to end it is seamless, the last notes ringing into the first. */
export const HOLD_MUSIC: Int16Array = render();

function render(): Int16Array {
  const noteSamples = Math.round(NOTE_SECONDS * MIX_RATE);
  const ringSamples = Math.round(RING_SECONDS * MIX_RATE);
  const length = CHORDS.length * PATTERN.length * noteSamples;
  const mix = new Float64Array(length);
  let start = 0;
  for (const chord of CHORDS) {
    for (const step of PATTERN) {
      strike(mix, start, ringSamples, chord[step]);
      start += noteSamples;
    }
  }
  let peak = 0;
  for (const value of mix) peak = Math.max(peak, Math.abs(value));
  const out = new Int16Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.round((mix[i]! / peak) * PEAK);
  return out;
}

/** Adds one note at `start`, wrapping its tail to the loop's beginning. */
function strike(mix: Float64Array, start: number, samples: number, frequency: number): void {
  const attack = MIX_RATE * 0.01; // 10 ms: no click
  const decay = Math.log(20) / samples;
  for (let i = 0; i < samples; i++) {
    const envelope = Math.min(1, i / attack) * Math.exp(-decay * i) * Math.min(1, (samples - i) / attack);
    const phase = (2 * Math.PI * frequency * i) / MIX_RATE;
    // A touch of the octave above gives the sine a warmer, bell-like tone.
    mix[(start + i) % mix.length]! += envelope * (Math.sin(phase) + 0.15 * Math.sin(2 * phase));
  }
}
