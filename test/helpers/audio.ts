import fs from 'node:fs';
import wavefile from 'wavefile';

/** Writes a mono 16-bit WAV holding a sine tone. */
export function writeToneWav(
  file: string,
  frequency: number,
  seconds: number,
  { sampleRate = 8000, amplitude = 8000 }: { sampleRate?: number; amplitude?: number } = {},
): void {
  const samples = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  const wav = new wavefile.WaveFile();
  wav.fromScratch(1, sampleRate, '16', samples);
  fs.writeFileSync(file, wav.toBuffer());
}

/**
 * `samples` with each of `frequencies` notched out (a biquad notch per tone, Q 8: the audio EQ
 * cookbook's formulae; a few lines, not worth a filter library). What the parties' pure tones
 * leave of a spoken prompt played over them can then be matched against the prompt notched alike.
 */
export function withoutTones(samples: ArrayLike<number>, sampleRate: number, frequencies: readonly number[]): Float64Array {
  let out = Float64Array.from(samples);
  for (const frequency of frequencies) {
    const w = (2 * Math.PI * frequency) / sampleRate;
    const alpha = Math.sin(w) / (2 * 8);
    const a0 = 1 + alpha;
    const [b0, b1, b2, a1, a2] = [1 / a0, (-2 * Math.cos(w)) / a0, 1 / a0, (-2 * Math.cos(w)) / a0, (1 - alpha) / a0];
    const input = out;
    out = new Float64Array(input.length);
    for (let i = 0; i < input.length; i++) {
      out[i] = b0 * input[i]! + b1 * (input[i - 1] ?? 0) + b2 * (input[i - 2] ?? 0) - a1 * (out[i - 1] ?? 0) - a2 * (out[i - 2] ?? 0);
    }
  }
  return out;
}

/** Samples of a WAV as numbers, with its rate (first channel). */
export function readWav(file: string): { samples: Float64Array; sampleRate: number } {
  const wav = new wavefile.WaveFile(fs.readFileSync(file));
  const rate = (wav.fmt as { sampleRate: number }).sampleRate;
  let samples = wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[];
  if (Array.isArray(samples)) samples = samples[0]!;
  return { samples, sampleRate: rate };
}

/**
 * How much of a signal's energy sits at one frequency (Goertzel), 0..1. A
 * clean tone gives ~1; speech or silence near 0; a mix of two tones ~0.5 each.
 */
export function toneShare(samples: ArrayLike<number>, sampleRate: number, frequency: number): number {
  const k = Math.round((samples.length * frequency) / sampleRate);
  const w = (2 * Math.PI * k) / samples.length;
  const coefficient = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let energy = 0;
  for (let i = 0; i < samples.length; i++) {
    const x = samples[i]!;
    energy += x * x;
    const s0 = x + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  if (energy === 0) return 0;
  const power = s1 * s1 + s2 * s2 - coefficient * s1 * s2;
  return (2 * power) / (samples.length * energy);
}

/**
 * toneShare averaged over 100 ms windows (10 Hz wide): a tone that went
 * through clocks of their own (a browser's playout, PulseAudio, an encoder)
 * drifts by a fraction of a hertz, out of the narrow bin of a long window.
 */
export function windowedToneShare(samples: Int16Array | Float64Array, sampleRate: number, frequency: number): number {
  const size = Math.round(sampleRate / 10);
  const windows = Math.floor(samples.length / size);
  let sum = 0;
  for (let i = 0; i < windows; i++) sum += toneShare(samples.subarray(i * size, (i + 1) * size), sampleRate, frequency);
  return windows > 0 ? sum / windows : 0;
}

/** Root mean square of a stretch of samples. */
export function rms(samples: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.sqrt(sum / Math.max(1, samples.length));
}

/**
 * How closely `needle` matches its best-aligned stretch of `haystack`: the
 * normalized cross-correlation, 1 for an exact (scaled) copy. G.711 keeps a
 * waveform's shape, so audio the gateway sent scores ~1 in what a phone got.
 */
export function bestMatch(haystack: ArrayLike<number>, needle: ArrayLike<number>): number {
  const n = needle.length;
  let needleEnergy = 0;
  for (let i = 0; i < n; i++) needleEnergy += needle[i]! * needle[i]!;
  let windowEnergy = 0;
  for (let i = 0; i < n && i < haystack.length; i++) windowEnergy += haystack[i]! * haystack[i]!;
  let best = 0;
  for (let lag = 0; lag + n <= haystack.length; lag++) {
    if (lag > 0) windowEnergy += haystack[lag + n - 1]! ** 2 - haystack[lag - 1]! ** 2;
    if (windowEnergy <= 0 || needleEnergy <= 0) continue;
    let dot = 0;
    for (let i = 0; i < n; i++) dot += haystack[lag + i]! * needle[i]!;
    best = Math.max(best, dot / Math.sqrt(needleEnergy * windowEnergy));
  }
  return best;
}
