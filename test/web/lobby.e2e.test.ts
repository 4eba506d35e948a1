// The lobby in the real web client against a real bridge: a moderator turns
// it on from the participants panel; a browser that knocks waits, seeing
// nothing of the room, until the moderator admits it from the list of knocks,
// and then the two see and hear each other; another is turned away and told
// so; a participant sees that the lobby is on but none of its controls; a
// knock nobody answers times out.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { clickJoin, inboundStats, joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { joinRoom } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** Waits until `viewer` has decoded video frames and heard sound (the fake microphone's beep) from `peerId`. */
async function seesAndHears(viewer: Page, peerId: string, what: string): Promise<void> {
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

/** What of the room a page shows and its conference holds: a knock must see and hold none of it. */
function roomSeen(page: Page) {
  return page.evaluate(() => ({
    participants: window.conference!.participants.value.size,
    chat: window.conference!.chat.value.length,
    shown: document.querySelectorAll('[data-testid="participant"], [data-testid="tile"], .chat-text').length,
  }));
}

const knock = (name: string) => `[data-testid="knock"]:has(button[aria-label="Admit ${name}"])`;

describe('the lobby in the browser', () => {
  let bridge: Bridge;
  const browsers: Browser[] = [];
  const page = async () => {
    const browser = await launchBrowser();
    browsers.push(browser);
    return browser.newPage();
  };

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', LOBBY_TIMEOUT_SECONDS: '120' });
  });
  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await bridge?.stop();
  });

  it('lets a moderator turn the lobby on, admit one knock and turn another away, from the UI', async () => {
    // The first in an open room is its moderator.
    const host = await page();
    await joinThroughUi(host, `${bridge.url}/review`, 'Host');
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

    const guest = await page();
    await clickJoin(guest, `${bridge.url}/review`, 'Guest');
    await guest.waitForSelector('[data-testid="waiting-in-lobby"]', { timeout: 15_000 });
    expect(await guest.$eval('[data-testid="waiting-in-lobby"] h1', (h) => h.textContent)).toBe('Waiting for a moderator to let you in');
    expect(await guest.$eval('[data-testid="waiting-in-lobby"] .lead', (p) => p.textContent)).toContain('review');

    await host.waitForSelector(knock('Guest'), { timeout: 10_000 });
    expect(await host.$eval(knock('Guest'), (li) => li.textContent)).toMatch(/waiting \d+ s/);
    expect(await host.$eval('#toggle-participants .badge', (b) => b.textContent)).toBe('1');
    // Still nothing of the room at the knock, now that it is known to wait.
    expect(await roomSeen(guest)).toEqual({ participants: 0, chat: 0, shown: 0 });

    await host.click(`button[aria-label="Admit Guest"]`);
    await guest.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
    await host.waitForFunction(() => !document.querySelector('[data-testid="knock"]'), { timeout: 10_000 });
    expect(await host.$('#toggle-participants .badge')).toBeNull();
    const [hostId, guestId] = await Promise.all([host, guest].map((p) => p.evaluate(() => window.conference!.selfId.value!)));
    await Promise.all([seesAndHears(guest, hostId!, 'Guest sees and hears Host'), seesAndHears(host, guestId!, 'Host sees and hears Guest')]);
    await guest.waitForSelector('.meeting');
    expect((await roomSeen(guest)).chat).toBe(1); // admitted: the room's chat, as anyone who joins

    // A participant sees that the lobby is on, but none of its controls, and no knocks.
    await guest.click('#toggle-participants');
    await guest.waitForSelector('[data-testid="lobby"][data-enabled="true"]');
    await guest.waitForSelector('[data-testid="lobby-on"]');

    const stranger = await page();
    await clickJoin(stranger, `${bridge.url}/review`, 'Stranger');
    await stranger.waitForSelector('[data-testid="waiting-in-lobby"]', { timeout: 15_000 });
    await host.waitForSelector(knock('Stranger'), { timeout: 10_000 });
    expect(await guest.$$('#lobby-toggle, [data-testid="knock"], #admit-all, #deny-all, #toggle-participants .badge')).toEqual([]);
    expect(await roomSeen(stranger)).toEqual({ participants: 0, chat: 0, shown: 0 });

    await host.click(`button[aria-label="Deny Stranger"]`);
    await stranger.waitForSelector('[data-end-reason="notAdmitted"]', { timeout: 10_000 });
    expect(await stranger.$eval('[data-end-reason="notAdmitted"] h1', (h) => h.textContent)).toBe('You were not admitted');
    await host.waitForFunction(() => !document.querySelector('[data-testid="knock"]'), { timeout: 10_000 });
    expect([...bridge.registry.get('review')!.peers].map((p) => p.displayName).sort()).toEqual(['Guest', 'Host']);
  }, 180_000);
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
