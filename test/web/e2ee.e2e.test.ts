// End-to-end encryption in the real web client: three headless Chromium
// instances, each with a microphone playing its own tone, meet through the
// real bridge; a moderator turns E2EE on, and each still decodes the others'
// video and hears their tone, now through the E2EE worker (its frame counts
// prove every frame was encrypted by the sender and decrypted here).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { startBridge } from '../helpers/bridge.ts';
import { inboundStats, joinThroughUi, launchBrowser, receivedAudio } from '../helpers/browser.ts';
import { waitFor } from '../helpers/wait.ts';

interface Participant {
  name: string;
  tone: number;
  browser: Browser;
  page: Page;
  peerId: string;
}

async function framesDecoded(viewer: Participant, sender: Participant): Promise<number> {
  const stats = await inboundStats(viewer.page);
  return stats.find((s) => s.peerId === sender.peerId && s.source === 'camera' && s.kind === 'video')?.framesDecoded ?? 0;
}

/** Frames of `sender` that `viewer`'s worker decrypted (or, for itself, encrypted). */
function workerFrames(viewer: Participant, sender: Participant) {
  return viewer.page.evaluate((peerId) => window.conference!.e2eeFrames.value.get(peerId) ?? null, sender.peerId);
}

async function toneFrom(viewer: Participant, sender: Participant, frequency: number): Promise<number> {
  const { samples, sampleRate } = await receivedAudio(viewer.page, sender.peerId);
  return windowedToneShare(samples, sampleRate, frequency);
}

describe('end-to-end encrypted meeting in the browser', () => {
  let bridge: Bridge;
  const people: Participant[] = [];
  const room = 'sealed';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2ee-'));
  const pairs = () => people.flatMap((viewer) => people.filter((other) => other !== viewer).map((other) => [viewer, other] as const));

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    for (const [name, tone] of [['Alice', 440], ['Bob', 700], ['Carol', 1100]] as const) {
      const file = path.join(dir, `${name}.wav`);
      writeToneWav(file, tone, 30, { sampleRate: 16000 });
      const browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${file}`] });
      const page = await browser.newPage();
      // Original sound: a noise suppressor would remove a steady tone.
      await joinThroughUi(page, `${bridge.url}/${room}?audioProcessing=off`, name);
      people.push({ name, tone, browser, page, peerId: await page.evaluate(() => window.conference!.selfId.value!) });
    }
  }, 60_000);

  afterAll(async () => {
    for (const p of people) await p.browser.close().catch(() => undefined);
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets the moderator turn E2EE on; everyone shows the shield and everyone as encrypting', async () => {
    const [alice] = people as [Participant];
    expect(await alice.page.evaluate(() => window.conference!.role.value)).toBe('moderator');
    await alice.page.click('#toggle-participants');
    await alice.page.click('#toggle-e2ee');
    for (const viewer of people) {
      await viewer.page.waitForSelector('[data-testid=e2ee-on]', { timeout: 10_000 });
      await waitFor(`${viewer.name} to see everyone encrypting`, () =>
        viewer.page.evaluate(() => [...window.conference!.participants.value.values()].every((p) => p.encrypting)),
      );
    }
    for (const p of people) expect(bridge.registry.get(room)!.getPeer(p.peerId)!.info().encrypting).toBe(true);
  });

  it('decodes everyone’s video through the worker after E2EE came on', async () => {
    await Promise.all(
      pairs().map(async ([viewer, sender]) => {
        const start = await framesDecoded(viewer, sender);
        await waitFor(`${viewer.name} to decrypt ${sender.name}'s frames`, async () => ((await workerFrames(viewer, sender))?.decrypted ?? 0) >= 100, 20_000, 250);
        await waitFor(`${viewer.name} to decode ${sender.name}'s video`, async () => (await framesDecoded(viewer, sender)) >= start + 30, 20_000, 250);
      }),
    );
    const numbers = await Promise.all(
      pairs().map(async ([viewer, sender]) => `${viewer.name}<-${sender.name}: ${JSON.stringify(await workerFrames(viewer, sender))}`),
    );
    console.log(`E2EE frames: ${numbers.join('; ')}`);
    for (const sender of people) expect((await workerFrames(sender, sender))?.encrypted ?? 0).toBeGreaterThan(100);
  });

  it('hears each participant’s own tone, decrypted', async () => {
    for (const [viewer, sender] of pairs()) {
      await waitFor(`${viewer.name} to hear ${sender.name}'s ${sender.tone} Hz`, async () => (await toneFrom(viewer, sender, sender.tone)) > 0.5, 20_000, 0);
      const other = people.find((p) => p !== viewer && p !== sender)!;
      expect(await toneFrom(viewer, sender, other.tone)).toBeLessThan(0.05);
    }
  });

  it('shows the same verification code on both sides of each pair', async () => {
    const codeAt = (viewer: Participant, of: Participant) =>
      viewer.page.$eval(`[data-testid=verification-code][data-peer-id="${of.peerId}"] .verification-digits`, (el) => el.textContent);
    for (const viewer of people) {
      if (!(await viewer.page.$('.participant-list'))) await viewer.page.click('#toggle-participants');
    }
    for (const [viewer, other] of pairs()) {
      const code = await codeAt(viewer, other);
      expect(code).toMatch(/^\d{5}( \d{5}){4}$/);
      expect(code).toBe(await codeAt(other, viewer));
    }
    // Different pairs, different codes.
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    expect(await codeAt(alice, bob)).not.toBe(await codeAt(alice, carol));
    // docs/e2ee.png: E2EE_SCREENSHOT=docs/e2ee.png on this test.
    if (process.env.E2EE_SCREENSHOT) await alice.page.screenshot({ path: process.env.E2EE_SCREENSHOT as `${string}.png` });
  });
});
