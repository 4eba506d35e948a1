import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Conference, InboundStats } from '../../web/src/lib/conference.ts';
import { CHROMIUM_BASE_ARGS } from '../../recorder/capture/RecorderBrowser.ts';
import type { TestHost } from './hosts.ts';

declare global {
  interface Window {
    conference?: Conference;
  }
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BrowserOptions {
  /** Grant camera and microphone silently (default), or deny them as a user who blocks them. */
  mediaPermission?: 'grant' | 'deny';
  args?: string[];
  /** Run on this test host (puppeteer then talks to it over a pipe, not a port on its loopback). */
  host?: TestHost;
}

/**
 * Debian's Chromium, headless, with a fake camera (a moving test pattern) and
 * a fake microphone (a periodic beep).
 */
export async function launchBrowser({ mediaPermission = 'grant', args = [], host }: BrowserOptions = {}): Promise<Browser> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chromium-'));
  const browser = await puppeteer.launch({
    executablePath: host ? host.wrapper(CHROMIUM) : CHROMIUM,
    pipe: host !== undefined,
    headless: true,
    userDataDir,
    args: [
      ...CHROMIUM_BASE_ARGS,
      mediaPermission === 'grant' ? '--use-fake-ui-for-media-stream' : '--deny-permission-prompts',
      '--use-fake-device-for-media-stream',
      '--autoplay-policy=no-user-gesture-required',
      '--window-size=1280,800',
      ...args,
    ],
    ignoreDefaultArgs: ['--mute-audio'],
    defaultViewport: { width: 1280, height: 800 },
  });
  browser.once('disconnected', () => fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5 }));
  return browser;
}

/** Goes through the real prejoin screen and joins. */
export async function joinThroughUi(page: Page, url: string, displayName: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#display-name');
  await page.$eval('#display-name', (el) => ((el as HTMLInputElement).value = ''));
  await page.type('#display-name', displayName);
  // The button is enabled once the camera and microphone have started.
  await page.waitForSelector('#join-button:not([disabled])');
  await page.click('#join-button');
  await page.waitForSelector('.meeting');
  await page.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
}

export function inboundStats(page: Page): Promise<InboundStats[]> {
  return page.evaluate(() => window.conference!.inboundStats());
}
