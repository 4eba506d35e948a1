// The lobby in the real web client against a real bridge and SIP gateway: a
// moderator turns it on from the participants panel; a browser that knocks
// waits, seeing nothing of the room, until the moderator admits it from the
// list of knocks, and then the two see and hear each other; a phone caller
// (baresip, by the dial-in number and PIN) knocks, is admitted from the list
// and hears both browsers, who hear it; another browser is turned away and
// told so; a participant sees that the lobby is on but none of its
// controls; a knock nobody answers times out.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { clickJoin, joinThroughUi, launchBrowser, receivedAudio, seesAndHears } from '../helpers/browser.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { joinRoom } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'review';
/** Each one's microphone plays its own tone, so who hears whom is told apart in a mix. */
const TONES = { host: 660, guest: 880, phone: 440 };

/** Waits until the page decodes `frequency` as nearly all of what `peerId` sends it. */
async function hearsTone(viewer: Page, peerId: string, frequency: number, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const { samples, sampleRate } = await receivedAudio(viewer, peerId);
      return samples.length > 0 && windowedToneShare(samples, sampleRate, frequency) > 0.8;
    },
    20_000,
    0,
  );
}

/** What of the room a page shows and its conference holds: a knock must see and hold none of it. */
function roomSeen(page: Page) {
  return page.evaluate(() => ({
    participants: window.conference!.participants.value.size,
    chat: window.conference!.chat.value.length,
    shown: document.querySelectorAll('[data-testid="participant"], [data-testid="tile"], .chat-text').length,
  }));
}

const knock = (name: string) => `[data-testid="knock"]:has(button[aria-label="Admit ${name}"])`;
const selfId = (page: Page) => page.evaluate(() => window.conference!.selfId.value!);

describe('the lobby in the browser', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  const browsers: Browser[] = [];
  let phone: Baresip | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lobby-e2e-'));
  /** A browser whose microphone plays `tone` (a steady tone: the link turns off the noise suppressor that would remove it). */
  const page = async (tone?: number) => {
    const args = [];
    if (tone) {
      const file = path.join(dir, `${tone}.wav`);
      writeToneWav(file, tone, 120, { sampleRate: 16000 });
      args.push(`--use-file-for-fake-audio-capture=${file}`);
    }
    const browser = await launchBrowser({ args });
    browsers.push(browser);
    return browser.newPage();
  };
  const url = `${ROOM}?audioProcessing=off`;
  let host: Page;
  let guest: Page;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', LOBBY_TIMEOUT_SECONDS: '120', DIAL_IN_NUMBERS: '+1 555 0100' });
    gw = await startGateway(bridge);
  });
  afterAll(async () => {
    await phone?.stop();
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await gw?.gateway.stop();
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets a moderator turn the lobby on and admit a knock from the UI; the knock sees nothing of the room until then', async () => {
    // The first in an open room is its moderator.
    host = await page(TONES.host);
    await joinThroughUi(host, `${bridge.url}/${url}`, 'Host');
    await host.click('#toggle-participants');
    await host.click('#lobby-toggle');
    await host.waitForSelector('[data-testid="lobby"][data-enabled="true"]', { timeout: 10_000 });
    await host.waitForSelector('[data-testid="lobby-on"]');
    // Something a knock must not see.
    await host.click('#toggle-chat');
    await host.type('#chat-input', 'only for those let in');
    await host.keyboard.press('Enter');
    await host.waitForSelector('.chat-text');
    await host.click('#toggle-participants');

    guest = await page(TONES.guest);
    await clickJoin(guest, `${bridge.url}/${url}`, 'Guest');
    await guest.waitForSelector('[data-testid="waiting-in-lobby"]', { timeout: 15_000 });
    expect(await guest.$eval('[data-testid="waiting-in-lobby"] h1', (h) => h.textContent)).toBe('Waiting for a moderator to let you in');
    expect(await guest.$eval('[data-testid="waiting-in-lobby"] .lead', (p) => p.textContent)).toContain(ROOM);

    await host.waitForSelector(knock('Guest'), { timeout: 10_000 });
    expect(await host.$eval(knock('Guest'), (li) => li.textContent)).toMatch(/waiting \d+ s/);
    expect(await host.$eval('#toggle-participants .badge', (b) => b.textContent)).toBe('1');
    // Still nothing of the room at the knock, now that it is known to wait.
    expect(await roomSeen(guest)).toEqual({ participants: 0, chat: 0, shown: 0 });

    await host.click('button[aria-label="Admit Guest"]');
    await guest.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
    await host.waitForFunction(() => !document.querySelector('[data-testid="knock"]'), { timeout: 10_000 });
    expect(await host.$('#toggle-participants .badge')).toBeNull();
    const [hostId, guestId] = [await selfId(host), await selfId(guest)];
    await Promise.all([seesAndHears(guest, hostId, 'Guest sees and hears Host'), seesAndHears(host, guestId, 'Host sees and hears Guest')]);
    await guest.waitForSelector('.meeting');
    expect((await roomSeen(guest)).chat).toBe(1); // admitted: the room's chat, as anyone who joins

    // A participant sees that the lobby is on, but none of its controls.
    await guest.click('#toggle-participants');
    await guest.waitForSelector('[data-testid="lobby"][data-enabled="true"]');
    await guest.waitForSelector('[data-testid="lobby-on"]');
    expect(await guest.$$('#lobby-toggle')).toEqual([]);
  }, 120_000);

  it('lets a phone caller knock and the moderator admit it from the UI; then the caller and both browsers hear each other', async () => {
    const microphone = path.join(dir, 'phone.wav');
    writeToneWav(microphone, TONES.phone, 120);
    phone = await Baresip.start({ microphone, codecs: 'PCMU' });
    // The dial-in number and the PIN the meeting shows.
    const pin = await host.$eval('[data-testid="dial-in-pin"]', (el) => el.textContent!);
    phone.dial(gw.uri('15550100'));
    await phone.waitForEvent('CALL_ESTABLISHED');
    await phone.sendDigits(`${pin}#`);

    const phoneKnock = '[data-testid="knock"][data-kind="phone"]';
    await host.waitForSelector(phoneKnock, { timeout: 15_000 });
    expect(await host.$eval(`${phoneKnock} .knock-wait`, (span) => span.textContent)).toMatch(/^Phone, waiting \d+ s$/);
    expect(await host.$(`${phoneKnock} [aria-label="phone"]`)).not.toBeNull();
    // Only moderators see who knocks.
    expect(await guest.$$('[data-testid="knock"], #admit-all, #deny-all, #toggle-participants .badge')).toEqual([]);

    await host.click(`${phoneKnock} button[aria-label^="Admit "]`);
    await host.waitForSelector('[data-testid="participant"][data-kind="phone"]', { timeout: 15_000 });
    await guest.waitForSelector('[data-testid="participant"][data-kind="phone"]', { timeout: 15_000 });
    const phoneId = [...bridge.registry.get(ROOM)!.visiblePeers()].find((p) => p.kind === 'phone')!.id;
    await Promise.all([
      hearsTone(host, phoneId, TONES.phone, 'Host hears the caller'),
      hearsTone(guest, phoneId, TONES.phone, 'Guest hears the caller'),
    ]);
    // The caller hears both browsers in its mix, and not itself.
    await waitFor(
      'the caller to hear Host and Guest',
      () => {
        const { samples, sampleRate } = phone!.recentAudio(2);
        const share = (tone: number) => windowedToneShare(samples, sampleRate, tone);
        return share(TONES.host) > 0.15 && share(TONES.guest) > 0.15 && share(TONES.phone) < 0.02;
      },
      20_000,
      250,
    );
  }, 120_000);

  it('turns a knock away from the UI, and the page says so', async () => {
    const stranger = await page();
    await clickJoin(stranger, `${bridge.url}/${url}`, 'Stranger');
    await stranger.waitForSelector('[data-testid="waiting-in-lobby"]', { timeout: 15_000 });
    await host.waitForSelector(knock('Stranger'), { timeout: 10_000 });
    expect(await guest.$$('[data-testid="knock"], #toggle-participants .badge')).toEqual([]);
    expect(await roomSeen(stranger)).toEqual({ participants: 0, chat: 0, shown: 0 });

    await host.click('button[aria-label="Deny Stranger"]');
    await stranger.waitForSelector('[data-end-reason="notAdmitted"]', { timeout: 10_000 });
    expect(await stranger.$eval('[data-end-reason="notAdmitted"] h1', (h) => h.textContent)).toBe('You were not admitted');
    await host.waitForFunction(() => !document.querySelector('[data-testid="knock"]'), { timeout: 10_000 });
    const inRoom = [...bridge.registry.get(ROOM)!.visiblePeers()].map((p) => (p.kind === 'phone' ? 'the caller' : p.displayName));
    expect(inRoom.sort()).toEqual(['Guest', 'Host', 'the caller']);
  }, 60_000);
});

describe('a knock nobody answers', () => {
  let bridge: Bridge;
  let browser: Browser | undefined;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', LOBBY_TIMEOUT_SECONDS: '3' });
  });
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await bridge?.stop();
  });

  it('times out, and the page says nobody let it in', async () => {
    const moderator = await joinRoom(bridge.url, 'quiet', 'Host', 'web');
    expect(moderator.joined.role).toBe('moderator');
    await moderator.client.request('setLobby', { enabled: true });
    browser = await launchBrowser();
    const guest = await browser.newPage();
    await clickJoin(guest, `${bridge.url}/quiet`, 'Guest');
    await guest.waitForSelector('[data-testid="waiting-in-lobby"]', { timeout: 15_000 });
    await guest.waitForSelector('[data-end-reason="lobbyTimedOut"]', { timeout: 15_000 });
    expect(await guest.$eval('[data-end-reason] h1', (h) => h.textContent)).toBe('Nobody let you in');
    moderator.client.close();
  }, 60_000);
});
