import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Conference, InboundStats } from '../../web/src/lib/conference.ts';
import { createLogger } from '../../common/logger.ts';
import { CHROMIUM_BASE_ARGS } from '../../recorder/capture/RecorderBrowser.ts';
import { VirtualDisplay } from '../../recorder/capture/VirtualDisplay.ts';
import type { TestHost } from './hosts.ts';
import { waitFor } from './wait.ts';

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
      // A test may hold several pages in one browser; the one opened last would leave the others in the
      // background, throttled (a password join there took 13 s to connect instead of 5).
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      ...args,
    ],
    ignoreDefaultArgs: ['--mute-audio'],
    defaultViewport: { width: 1280, height: 800 },
  });
  browser.once('disconnected', () => fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5 }));
  return browser;
}

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

export interface FirefoxOptions {
  /** The fake microphone's steady sine tone, in Hz (Firefox's default is 1000). */
  toneFrequency?: number;
  /**
   * Run on a virtual display of its own instead of headless, so it has a
   * screen to share (headless Firefox finds none: NotFoundError).
   */
  screen?: boolean;
}

/**
 * Debian's Firefox ESR driven over WebDriver BiDi, with Firefox's fake camera
 * (a colour-cycling frame) and fake microphone (a steady sine tone), granted
 * without a prompt, as is sharing the screen. Its ICE never pairs with a
 * loopback address (media.peerconnection.ice.loopback does not change that):
 * give it a bridge on the host's own address.
 */
export async function launchFirefox({ toneFrequency = 1000, screen = false }: FirefoxOptions = {}): Promise<Browser> {
  const display = screen ? await VirtualDisplay.start(1280, 800, createLogger('warn', 'xvfb')) : undefined;
  try {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: !display,
      env: display ? { ...process.env, DISPLAY: display.name } : undefined,
      defaultViewport: { width: 1280, height: 800 },
      extraPrefsFirefox: {
        'media.navigator.streams.fake': true,
        'media.navigator.permission.disabled': true,
        'media.navigator.audio.fake_frequency': toneFrequency,
        'media.autoplay.default': 0, // allowed: remote audio plays without a click
      },
    });
    if (display) browser.once('disconnected', () => void display.stop());
    return browser;
  } catch (error) {
    await display?.stop();
    throw error;
  }
}

/** Opens the real prejoin screen with the name typed in, ready to click Join. */
export async function openJoinForm(page: Page, url: string, displayName: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#display-name');
  await page.$eval('#display-name', (el) => ((el as HTMLInputElement).value = ''));
  await page.type('#display-name', displayName);
  // The button is enabled once the camera and microphone have started.
  await page.waitForSelector('#join-button:not([disabled])');
}

/** Fills in the real prejoin screen and clicks Join (the join itself may still wait or be refused). */
export async function clickJoin(page: Page, url: string, displayName: string): Promise<void> {
  await openJoinForm(page, url, displayName);
  await page.click('#join-button');
}

/** Goes through the real prejoin screen and joins. */
export async function joinThroughUi(page: Page, url: string, displayName: string): Promise<void> {
  await clickJoin(page, url, displayName);
  await page.waitForSelector('.meeting');
  await page.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
}

export function inboundStats(page: Page): Promise<InboundStats[]> {
  return page.evaluate(() => window.conference!.inboundStats());
}

/** Waits until `viewer` has decoded video frames and heard sound from `peerId`. */
export async function seesAndHears(viewer: Page, peerId: string, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const stats = (await inboundStats(viewer)).filter((s) => s.peerId === peerId);
      const video = stats.find((s) => s.source === 'camera' && s.kind === 'video');
      const audio = stats.find((s) => s.source === 'mic' && s.kind === 'audio');
      return (video?.framesDecoded ?? 0) >= 30 && (audio?.totalAudioEnergy ?? 0) >= 0.001;
    },
    20_000,
    250,
  );
}

/**
 * What `page` receives from `peerId`'s microphone over `ms`, decoded in the
 * page: recorded with MediaRecorder and decoded by an OfflineAudioContext,
 * since headless Firefox has no audio output to run a live AudioContext on.
 */
export async function receivedAudio(page: Page, peerId: string, ms = 1000): Promise<{ samples: Float64Array; sampleRate: number }> {
  const { samples, sampleRate } = await page.evaluate(async (peerId, ms) => {
    const media = [...window.conference!.remoteMedia.value.values()].find((m) => m.peerId === peerId && m.source === 'mic');
    if (!media) return { samples: [], sampleRate: 48000 };
    const recorder = new MediaRecorder(new MediaStream([media.consumer.track]));
    const chunks: Blob[] = [];
    recorder.ondataavailable = (event) => chunks.push(event.data);
    const stopped = new Promise((resolve) => (recorder.onstop = resolve));
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, ms)); // the length of the recording
    recorder.stop();
    await stopped;
    const audio = await new OfflineAudioContext(1, 48000, 48000).decodeAudioData(await new Blob(chunks).arrayBuffer());
    return { samples: [...audio.getChannelData(0)], sampleRate: audio.sampleRate };
  }, peerId, ms);
  return { samples: Float64Array.from(samples), sampleRate };
}

/**
 * Keeps the page's RTCPeerConnections where `videoRtpStats` finds them
 * (the client keeps its own out of reach). Call before the page loads.
 */
export function keepPeerConnections(page: Page): Promise<unknown> {
  return page.evaluateOnNewDocument(() => {
    const Native = window.RTCPeerConnection;
    const kept: RTCPeerConnection[] = [];
    (window as unknown as { keptPeerConnections: RTCPeerConnection[] }).keptPeerConnections = kept;
    window.RTCPeerConnection = class extends Native {
      constructor(configuration?: RTCConfiguration) {
        super(configuration);
        kept.push(this);
      }
    };
  });
}

/** What the page's open peer connections report of its video: every outbound-rtp and inbound-rtp entry. */
export function videoRtpStats(page: Page): Promise<{ type: string; rid?: string; frameHeight?: number; framesEncoded?: number; framesDecoded?: number }[]> {
  return page.evaluate(async () => {
    const entries: { type: string; rid?: string; frameHeight?: number; framesEncoded?: number; framesDecoded?: number }[] = [];
    for (const pc of (window as unknown as { keptPeerConnections?: RTCPeerConnection[] }).keptPeerConnections ?? []) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; rid?: string; frameHeight?: number; framesEncoded?: number; framesDecoded?: number }) => {
        if (s.kind !== 'video' || (s.type !== 'outbound-rtp' && s.type !== 'inbound-rtp')) return;
        entries.push({ type: s.type, rid: s.rid, frameHeight: s.frameHeight, framesEncoded: s.framesEncoded, framesDecoded: s.framesDecoded });
      });
    }
    return entries;
  });
}
