// Firefox and Chromium in one room, through the real web UI and the real
// bridge: each decodes the other's video, hears the other's tone (not its
// own), and screen share and chat cross between them. Firefox runs on a
// virtual display: headless, it has no screen to share.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { defaultAnnouncedAddress } from '../../common/config.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { startBridge } from '../helpers/bridge.ts';
import { inboundStats, joinThroughUi, launchBrowser, launchFirefox, receivedAudio } from '../helpers/browser.ts';
import { contentSecurityViolations, watchContentSecurity } from '../helpers/contentSecurity.ts';
import { waitFor } from '../helpers/wait.ts';

const FIREFOX_TONE = 523;
const CHROMIUM_TONE = 784;

interface Participant {
  name: string;
  browser: Browser;
  page: Page;
  peerId: string;
}

/** Waits until `viewer` has decoded `frames` more frames of `sender`'s `source`. */
async function decodesVideo(viewer: Participant, sender: Participant, source: 'camera' | 'screen', frames: number): Promise<void> {
  const decoded = async () =>
    (await inboundStats(viewer.page)).find((s) => s.peerId === sender.peerId && s.source === source && s.kind === 'video')?.framesDecoded ?? 0;
  const start = await decoded();
  await waitFor(`${viewer.name} to decode ${sender.name}'s ${source}`, async () => (await decoded()) >= start + frames, 20_000, 250);
}

/** Share of `viewer`'s received audio from `sender` at `frequency`, over a second. */
async function toneFrom(viewer: Participant, sender: Participant, frequency: number): Promise<number> {
  const { samples, sampleRate } = await receivedAudio(viewer.page, sender.peerId);
  return windowedToneShare(samples, sampleRate, frequency);
}

describe('Firefox and Chromium in one meeting', () => {
  let bridge: Bridge;
  let firefox: Participant;
  let chromium: Participant;
  const room = 'interop';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'firefox-'));

  async function join(name: string, browser: Browser): Promise<Participant> {
    const page = await browser.newPage();
    await watchContentSecurity(page);
    // Original sound: a noise suppressor would remove a steady tone.
    await joinThroughUi(page, `${bridge.url}/${room}?audioProcessing=off`, name);
    return { name, browser, page, peerId: await page.evaluate(() => window.conference!.selfId.value!) };
  }

  beforeAll(async () => {
    writeToneWav(path.join(dir, 'chromium.wav'), CHROMIUM_TONE, 30, { sampleRate: 16000 });
    // The host's own address, as in a deployment: Firefox does not pair with loopback.
    const address = defaultAnnouncedAddress('0.0.0.0');
    bridge = await startBridge({ MEDIA_WORKERS: '1', MEDIA_LISTEN_IP: address, MEDIA_ANNOUNCED_ADDRESS: address });
    firefox = await join('Fiona', await launchFirefox({ toneFrequency: FIREFOX_TONE, screen: true }));
    chromium = await join('Chris', await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${path.join(dir, 'chromium.wav')}`] }));
  }, 120_000);

  afterAll(async () => {
    for (const p of [firefox, chromium]) await p?.browser.close().catch(() => undefined);
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the Firefox it says it does', async () => {
    expect(await firefox.browser.version()).toMatch(/^firefox\//);
    expect(await chromium.browser.version()).toMatch(/Chrom/);
  });

  it('decodes each other’s camera', async () => {
    await Promise.all([decodesVideo(firefox, chromium, 'camera', 30), decodesVideo(chromium, firefox, 'camera', 30)]);
    for (const p of [firefox, chromium]) expect(await p.page.$$eval('[data-testid="tile"]', (t) => t.length)).toBe(2);
  });

  it('hears each other’s tone, not its own', async () => {
    for (const [listener, speaker, heard, own] of [
      [firefox, chromium, CHROMIUM_TONE, FIREFOX_TONE],
      [chromium, firefox, FIREFOX_TONE, CHROMIUM_TONE],
    ] as const) {
      await waitFor(`${listener.name} to hear ${speaker.name}'s ${heard} Hz tone`, async () => (await toneFrom(listener, speaker, heard)) > 0.5, 20_000, 0);
      expect(await toneFrom(listener, speaker, own)).toBeLessThan(0.05);
    }
  });

  it('shows each one’s shared screen on the other’s stage', async () => {
    for (const [sharer, viewer] of [
      [chromium, firefox],
      [firefox, chromium],
    ] as const) {
      await sharer.page.click('#toggle-screen');
      await waitFor(`${viewer.name} to stage ${sharer.name}'s screen`, () =>
        viewer.page.$eval('.stage [data-testid="tile"]', (tile) => tile.getAttribute('data-screen') === 'true').catch(() => false),
      );
      await decodesVideo(viewer, sharer, 'screen', 10);
      await sharer.page.click('#toggle-screen');
      await waitFor(`the stage to clear at ${viewer.name}`, async () => (await viewer.page.$('.stage')) === null);
    }
  });

  it('carries chat both ways', async () => {
    for (const [writer, reader, text] of [
      [firefox, chromium, 'Hello from Firefox'],
      [chromium, firefox, 'Hello from Chromium'],
    ] as const) {
      await writer.page.click('#toggle-chat');
      await writer.page.type('#chat-input', text);
      await writer.page.keyboard.press('Enter');
      await writer.page.click('#toggle-chat');
      await waitFor(`${reader.name}'s unread badge`, () => reader.page.$eval('#toggle-chat', (b) => b.textContent?.includes('1')));
      await reader.page.click('#toggle-chat');
      await waitFor(`${reader.name} to read "${text}"`, () =>
        reader.page.$$eval('.chat-text', (texts, text) => texts.some((t) => t.textContent === text), text),
      );
      await reader.page.click('#toggle-chat');
    }
  });

  it('breaks no rule of the Content-Security-Policy the server sends, in either browser', async () => {
    for (const p of [firefox, chromium]) expect(await contentSecurityViolations(p.page), p.name).toEqual([]);
  });
});

describe('Firefox and a bridge announcing only loopback', () => {
  let bridge: Bridge | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await bridge?.stop();
  });

  it('says it has no network path to the media server instead of showing black tiles', async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' }); // listens on and announces 127.0.0.1
    browser = await launchFirefox();
    const page = await browser.newPage();
    await joinThroughUi(page, `${bridge.url}/loopback`, 'Fiona');
    const banner = await page.waitForSelector('[data-testid=media-problem]', { timeout: 20_000 });
    expect(await banner!.evaluate((e) => e.textContent)).toMatch(
      /^Media could not connect: this browser found no network path to the media server \(UDP and TCP to 127\.0\.0\.1:\d+\)\. Retrying…$/,
    );
  });
});
