// Access control in the real web client against a real bridge in
// AUTH_MODE=secure: a guest waits for the host and joins when a moderator
// with a token (?jwt=) arrives; only moderators see moderator controls; a
// moderator promotes the guest from the participants panel; a refused token
// says why.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { clickJoin, joinThroughUi, launchBrowser, seesAndHears } from '../helpers/browser.ts';
import { joinToken } from '../helpers/signaling.ts';

const MODERATOR_CONTROLS = ['#record-button', '#live-button', '#end-meeting'];

/** Which of the moderator controls the page shows (the participants panel open). */
async function controlsShown(page: Page): Promise<string[]> {
  const shown: string[] = [];
  for (const selector of MODERATOR_CONTROLS) if (await page.$(selector)) shown.push(selector);
  if (await page.$('#lock-button')) shown.push('lock');
  if (await page.$('#mute-all')) shown.push('mute everyone');
  for (const label of ['Remove', 'Make moderator']) {
    if (await page.$$eval('.participant button', (buttons, l) => buttons.some((b) => b.textContent?.trim() === l), label)) shown.push(label);
  }
  return shown;
}

describe('access control in the browser', () => {
  let bridge: Bridge;
  const browsers: Browser[] = [];
  const page = async () => {
    const browser = await launchBrowser();
    browsers.push(browser);
    return browser.newPage();
  };

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', AUTH_MODE: 'secure', LOBBY_TIMEOUT_SECONDS: '60' });
  });
  // Each test's browsers go with it: left running (cameras on, simulcast encoding) they slowed the next on 2 cores.
  afterEach(async () => {
    for (const browser of browsers.splice(0)) await browser.close().catch(() => undefined);
  });
  afterAll(async () => {
    await bridge?.stop();
  });

  it('lets a guest wait for the host, then in; only moderators see moderator controls, and one promotes the guest', async () => {
    const guest = await page();
    await clickJoin(guest, `${bridge.url}/secure`, 'Guest');
    await guest.waitForSelector('[data-testid="waiting-for-host"]', { timeout: 15_000 });
    expect(await guest.$eval('[data-testid="waiting-for-host"] h1', (h) => h.textContent)).toBe('Waiting for the host');
    expect(bridge.registry.get('secure')).toBeUndefined();

    const host = await page();
    const token = await joinToken({ room: 'secure', role: 'moderator' });
    await joinThroughUi(host, `${bridge.url}/secure?jwt=${token}`, 'Host');
    await guest.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });

    for (const p of [guest, host]) {
      await p.click('#toggle-participants');
      await p.waitForFunction(() => document.querySelectorAll('[data-testid="participant"]').length === 2);
    }
    await host.waitForSelector('#mute-all', { timeout: 10_000 }); // once the guest's microphone is in
    expect(await controlsShown(host)).toEqual([...MODERATOR_CONTROLS, 'lock', 'mute everyone', 'Remove', 'Make moderator']);
    expect(await controlsShown(guest)).toEqual([]);

    await host.click('.participant button[aria-label="Make Guest a moderator"]');
    await guest.waitForSelector('#end-meeting', { timeout: 10_000 });
    await guest.waitForSelector('#mute-all', { timeout: 10_000 });
    expect(await controlsShown(guest)).toEqual([...MODERATOR_CONTROLS, 'lock', 'mute everyone', 'Remove']);
    await host.waitForSelector('[data-testid="participant"][data-role="moderator"]:not(:first-child)');

    // Mute everyone: the guest's microphone goes off, the host's stays on.
    await host.click('#mute-all');
    await guest.waitForFunction(() => window.conference?.micOn.value === false, { timeout: 10_000 });
    expect(await host.evaluate(() => window.conference?.micOn.value)).toBe(true);
  }, 120_000);

  it('lets a token without publish watch and listen: no send controls, devices let go, nothing sent, the room received', async () => {
    const host = await page();
    await joinThroughUi(host, `${bridge.url}/watch?jwt=${await joinToken({ room: 'watch', role: 'moderator' })}`, 'Host');
    const viewer = await page();
    await joinThroughUi(viewer, `${bridge.url}/watch?jwt=${await joinToken({ room: 'watch', role: 'participant', grants: { publish: false } })}`, 'Viewer');
    const hostId = (await host.evaluate(() => window.conference!.selfId.value))!;
    await seesAndHears(viewer, hostId, "the viewer decoding the host's camera and hearing its microphone");
    for (const control of ['#toggle-mic', '#toggle-camera', '#toggle-screen']) expect(await viewer.$(control), control).toBeNull();
    expect(await viewer.evaluate(() => [window.conference!.micOn.value, window.conference!.cameraTrack.value])).toEqual([false, null]);
    const viewerPeer = [...bridge.registry.get('watch')!.peers].find((p) => p.displayName === 'Viewer')!;
    expect(viewerPeer.producers.size).toBe(0);
    expect(await viewer.evaluate(() => window.conference!.notices.value.map((n) => n.text))).toEqual([]);
    expect(await host.$('#toggle-mic')).not.toBeNull();
  }, 90_000);

  it('says why a token was refused', async () => {
    const stranger = await page();
    const token = await joinToken({ room: 'elsewhere', role: 'moderator' });
    await clickJoin(stranger, `${bridge.url}/secure?jwt=${token}`, 'Stranger');
    await stranger.waitForSelector('[data-end-reason="unauthorized"]', { timeout: 15_000 });
    expect(await stranger.$eval('[data-testid="end-detail"]', (p) => p.textContent)).toContain('token is for room elsewhere, not secure');
  }, 60_000);
});
