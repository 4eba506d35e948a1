// What a browser hears, by tone: each party of a test sends its own
// frequency, and a remote microphone is known by which one dominates it.
import type { Page } from 'puppeteer-core';
import { windowedToneShare } from './audio.ts';
import { audioOf } from './media.ts';

export type Tones = Record<string, number>;

/** Per remote microphone in the page: whose it is and its share at every party's tone. */
export async function heardInPage(page: Page, tones: Tones): Promise<{ name: string; kind: string; shares: Record<string, number> }[]> {
  return page.evaluate(async (tones: Record<string, number>) => {
    const conference = window.conference!;
    const context = new AudioContext({ sampleRate: 48000 });
    const mics = [...conference.remoteMedia.value.values()].filter((m) => m.source === 'mic');
    const analysers = mics.map((media) => {
      const analyser = context.createAnalyser();
      analyser.fftSize = 8192;
      context.createMediaStreamSource(new MediaStream([media.consumer.track])).connect(analyser);
      return { media, analyser };
    });
    await new Promise((resolve) => setTimeout(resolve, 600)); // fill the analysers' window
    const result = analysers.map(({ media, analyser }) => {
      const bins = new Float32Array(analyser.frequencyBinCount);
      analyser.getFloatFrequencyData(bins);
      let total = 0;
      for (let i = 1; i < bins.length; i++) total += 10 ** (bins[i]! / 10);
      const shares: Record<string, number> = {};
      for (const [party, frequency] of Object.entries(tones)) {
        const toneBin = Math.round((frequency * analyser.fftSize) / 48000);
        let atTone = 0;
        for (let i = toneBin - 2; i <= toneBin + 2; i++) atTone += 10 ** (bins[i]! / 10);
        shares[party] = total > 0 ? atTone / total : 0;
      }
      const peer = conference.participants.value.get(media.peerId);
      return { name: peer?.displayName ?? '?', kind: peer?.kind ?? '?', shares };
    });
    await context.close();
    return result;
  }, tones);
}

/** The party whose tone dominates, if one has most of the energy. */
export function dominant(shares: Record<string, number>): string | undefined {
  return Object.keys(shares).find((party) => shares[party]! > 0.5);
}

export function shareOf<T extends Tones>(samples: Int16Array, sampleRate: number, tones: T): Record<keyof T, number> {
  return Object.fromEntries(Object.entries(tones).map(([party, frequency]) => [party, windowedToneShare(samples, sampleRate, frequency)])) as Record<keyof T, number>;
}


/**
 * The tones' shares in the `seconds`-long stretch of a recording where the
 * faintest of them is strongest (stretches start every second). A recording
 * begins when its page joins; on a loaded machine one party's audio may reach
 * it seconds after another's, or drop out while its Chromium is starved, so
 * the check is that some stretch holds every party at once. A party missing
 * from the whole file still scores ~0 in every stretch.
 */
export async function tonesAtBest<T extends Tones>(file: string, tones: T, seconds = 4): Promise<{ from: number; shares: Record<keyof T, number> }> {
  const { samples, sampleRate } = await audioOf(file, { from: 0 });
  const size = seconds * sampleRate;
  // Every whole second, and the last stretch of the file.
  const starts = Array.from({ length: Math.max(0, Math.floor((samples.length - size) / sampleRate)) + 1 }, (_, second) => second * sampleRate);
  starts.push(Math.max(0, samples.length - size));
  let best: { from: number; shares: Record<keyof T, number>; faintest: number } | undefined;
  for (const start of starts) {
    const shares = shareOf(samples.subarray(start, start + size), sampleRate, tones);
    const faintest = Math.min(...Object.values(shares));
    if (!best || faintest > best.faintest) best = { from: start / sampleRate, shares, faintest };
  }
  return { from: best!.from, shares: best!.shares };
}
