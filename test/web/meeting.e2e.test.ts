// Three headless Chromium instances with fake cameras and microphones meet
// through the real web UI and the real bridge.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { inboundStats, joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { contentSecurityViolations, watchContentSecurity } from '../helpers/contentSecurity.ts';
import { waitFor } from '../helpers/wait.ts';

interface Participant {
  name: string;
  browser: Browser;
  page: Page;
  peerId: string;
}

/** What `from` receives from `to`, per source and kind. */
async function received(from: Participant, to: Participant, source: string, kind: 'audio' | 'video') {
  const stats = await inboundStats(from.page);
  return stats.find((s) => s.peerId === to.peerId && s.source === source && s.kind === kind);
}

/** Waits until a counter of what `from` receives from `to` grows by `by`. */
async function expectRising(
  what: string,
  from: Participant,
  to: Participant,
  source: string,
  kind: 'audio' | 'video',
  field: 'framesDecoded' | 'bytesReceived' | 'totalAudioEnergy',
  by: number,
) {
  const start = (await received(from, to, source, kind))?.[field] ?? 0;
  await waitFor(`${from.name} ${what} from ${to.name}`, async () => ((await received(from, to, source, kind))?.[field] ?? 0) >= start + by, 15_000, 200);
}

describe('meeting in the browser', () => {
  let bridge: Bridge;
  const people: Participant[] = [];
  const room = 'standup';

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    const names = ['Alice', 'Bob', 'Carol'];
    // Launched side by side (a launch is mostly waiting), then joined in turn: Alice first, the moderator.
    const browsers = await Promise.all(names.map(() => launchBrowser()));
    for (const [index, name] of names.entries()) {
      const browser = browsers[index]!;
      const page = await browser.newPage();
      await watchContentSecurity(page);
      await joinThroughUi(page, `${bridge.url}/${room}`, name);
      const peerId = await page.evaluate(() => window.conference!.selfId.value!);
      people.push({ name, browser, page, peerId });
    }
  }, 120_000);

  afterAll(async () => {
    for (const p of people) await p.browser.close().catch(() => undefined);
    await bridge?.stop();
  });

  it('shows everyone to everyone and decodes their video and audio', async () => {
    const checks = people.flatMap((viewer) =>
      people
        .filter((other) => other !== viewer)
        .map(async (other) => {
          await expectRising('decodes video', viewer, other, 'camera', 'video', 'framesDecoded', 30);
          await expectRising('receives audio', viewer, other, 'mic', 'audio', 'bytesReceived', 2000);
          // Chromium's fake microphone beeps: real audio energy, not silence.
          await expectRising('hears sound', viewer, other, 'mic', 'audio', 'totalAudioEnergy', 0.001);
        }),
    );
    await Promise.all(checks);
    for (const viewer of people) {
      expect(await viewer.page.$$eval('[data-testid="tile"]', (t) => t.length)).toBe(3);
    }
    const names = await people[0]!.page.$$eval('[data-testid="tile"] .tile-label span', (spans) => spans.map((s) => s.textContent));
    expect(names.sort()).toEqual(['Alice (you)', 'Bob', 'Carol']);
  });

  it('asks for the simulcast layer that fits each tile', async () => {
    const [alice, bob] = people as [Participant, Participant];
    const videoLayers = () => {
      const peer = bridge.registry.get(room)!.getPeer(alice.peerId)!;
      return [...peer.consumers.values()].filter((c) => c.kind === 'video').map((c) => c.preferredLayers?.spatialLayer);
    };
    // Three tiles in a 1280x800 window are about 330 px high: the middle layer.
    await waitFor('middle layers in the grid', () => videoLayers().join() === '1,1');
    await waitFor('a reduced resolution from Bob', async () => {
      const video = await received(alice, bob, 'camera', 'video');
      return video && video.frameHeight > 0 && video.frameHeight <= 360;
    }, 20_000, 250);
    // Speaker view: one person on the large stage (full layer), one in the filmstrip (smallest).
    await alice.page.click('#toggle-layout');
    await waitFor('full and smallest layers in speaker view', () => videoLayers().sort().join() === '0,2');
    await alice.page.click('#toggle-layout');
    await waitFor('middle layers again', () => videoLayers().join() === '1,1');
  });

  it('stops Alice’s audio reaching the others while she is muted, and shows her as muted', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    await alice.page.click('#toggle-mic');
    await waitFor('Bob to see Alice muted', () =>
      bob.page.$eval(`[data-peer-id="${alice.peerId}"] .tile-label`, (label) => !!label.querySelector('.muted-icon')),
    );
    // Once the pause has taken effect, no more audio bytes arrive.
    const settled = async (viewer: Participant) => {
      const a = (await received(viewer, alice, 'mic', 'audio'))!.bytesReceived;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const b = (await received(viewer, alice, 'mic', 'audio'))!.bytesReceived;
      return b === a;
    };
    await waitFor('silence from Alice at Bob', () => settled(bob), 10_000, 0);
    await waitFor('silence from Alice at Carol', () => settled(carol), 10_000, 0);
    // Bob's audio still reaches Carol: only Alice was muted.
    await expectRising('still hears Bob', carol, bob, 'mic', 'audio', 'bytesReceived', 2000);

    await alice.page.click('#toggle-mic');
    await expectRising('hears Alice again', bob, alice, 'mic', 'audio', 'bytesReceived', 2000);
  });

  it('highlights the active speaker', async () => {
    const [alice] = people as [Participant];
    await waitFor('a highlighted tile that is the active speaker', () =>
      alice.page.evaluate(() => {
        const tile = document.querySelector('.tile.speaking');
        const active = window.conference!.activeSpeakerId.value;
        return !!tile && !!active && tile.getAttribute('data-peer-id') === active;
      }),
    );
  });

  it('shows an avatar while someone’s camera is off, and their video when it is back', async () => {
    const [alice, bob] = people as [Participant, Participant];
    await bob.page.click('#toggle-camera');
    await waitFor('Alice to show Bob as an avatar', () => alice.page.$(`[data-peer-id="${bob.peerId}"] .avatar`));
    expect(await bob.page.evaluate(() => window.conference!.cameraTrack.value)).toBeNull(); // device released
    await bob.page.click('#toggle-camera');
    await waitFor('Bob’s video at Alice again', () => alice.page.$(`[data-peer-id="${bob.peerId}"] video`));
    await expectRising('decodes Bob’s camera again', alice, bob, 'camera', 'video', 'framesDecoded', 20);
  });

  it('delivers chat messages to everyone', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    await alice.page.click('#toggle-chat');
    await alice.page.type('#chat-input', 'Good morning, team!');
    await alice.page.keyboard.press('Enter');
    for (const viewer of [bob, carol]) {
      await waitFor(`${viewer.name}'s unread badge`, () => viewer.page.$eval('#toggle-chat', (b) => b.textContent?.includes('1')));
      await viewer.page.click('#toggle-chat');
      await waitFor(`${viewer.name} to read the message`, () =>
        viewer.page.$$eval('.chat-text', (texts) => texts.some((t) => t.textContent === 'Good morning, team!')),
      );
      await viewer.page.click('#toggle-chat');
    }
    await alice.page.click('#toggle-chat');
  });

  it('shows a raised hand in the participant list', async () => {
    const [alice, bob] = people as [Participant, Participant];
    await bob.page.click('#toggle-hand');
    await alice.page.click('#toggle-participants');
    await waitFor('Bob listed first with a raised hand', () =>
      alice.page.$$eval('[data-testid="participant"]', (rows) => rows[0]?.textContent?.includes('Bob') && !!rows[0].querySelector('.hand')),
    );
    await alice.page.click('#toggle-participants');
    await bob.page.click('#toggle-hand');
  });

  it('puts a shared screen on everyone’s stage', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    await alice.page.click('#toggle-screen');
    for (const viewer of [bob, carol]) {
      await waitFor(`${viewer.name} to stage Alice's screen`, () =>
        viewer.page.$eval('.stage [data-testid="tile"]', (tile) => tile.getAttribute('data-screen') === 'true').catch(() => false),
      );
      await expectRising('decodes the screen', viewer, alice, 'screen', 'video', 'framesDecoded', 10);
    }
    await alice.page.click('#toggle-screen');
    await waitFor('the stage to clear at Bob', async () => (await bob.page.$('.stage')) === null);
  });

  it('lets a participant mute someone else from the list; only they can unmute', async () => {
    const [alice, bob] = people as [Participant, Participant];
    await alice.page.click('#toggle-participants');
    await alice.page.click('button[aria-label="Mute Bob"]');
    await waitFor('Bob muted in his own UI', () => bob.page.evaluate(() => window.conference!.micOn.value === false));
    await bob.page.waitForSelector('.notice', { timeout: 5000 });
    expect(await bob.page.$$eval('.notice', (n) => n.map((e) => e.textContent).join(' '))).toContain('Alice muted your microphone');
    const bobMic = () =>
      bridge.registry.get(room)!.getPeer(bob.peerId)!.info().producers.find((p) => p.source === 'mic')?.paused;
    expect(bobMic()).toBe(true);
    await alice.page.waitForSelector('button[aria-label="Mute Bob"]', { hidden: true });
    await bob.page.click('#toggle-mic');
    await waitFor('Bob unmuted himself', () => bobMic() === false);
    await alice.page.click('#toggle-participants');
  });

  it('locks the meeting: a newcomer must type the password; everyone sees the lock', async () => {
    const [alice, bob] = people as [Participant, Participant];
    await alice.page.click('#toggle-participants');
    await alice.page.click('#lock-button');
    await alice.page.type('#lock-password', '2468');
    await alice.page.click('[data-testid=meeting-lock] button[type=submit]');
    await bob.page.waitForSelector('[data-testid=room-locked]', { timeout: 5000 });
    expect(bridge.registry.get(room)!.moderation.locked).toBe(true);

    const dave = await alice.browser.newPage();
    try {
      await dave.goto(`${bridge.url}/${room}`);
      await dave.waitForSelector('#display-name');
      await dave.type('#display-name', 'Dave');
      await dave.waitForSelector('#join-button:not([disabled])');
      await dave.click('#join-button');
      await dave.waitForSelector('#room-password', { timeout: 10_000 });
      await dave.type('#room-password', '1111');
      await dave.waitForSelector('#join-button:not([disabled])');
      await dave.click('#join-button');
      await waitFor('the wrong password refused', () =>
        dave.$eval('[data-testid=password-hint]', (el) => el.textContent!.includes('not correct')).catch(() => false),
      );
      await dave.$eval('#room-password', (el) => ((el as HTMLInputElement).value = ''));
      await dave.type('#room-password', '2468');
      await dave.waitForSelector('#join-button:not([disabled])');
      await dave.click('#join-button');
      await dave.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
      await alice.page.waitForSelector('[data-testid=participant] ::-p-text(Dave)', { timeout: 10_000 });
    } finally {
      await dave.close();
    }
    await alice.page.click('[data-testid=meeting-lock] button');
    await waitFor('the room unlocked', () => !bridge.registry.get(room)!.moderation.locked);
    await bob.page.waitForSelector('[data-testid=room-locked]', { hidden: true });
    await alice.page.click('#toggle-participants');
  });

  it('breaks no rule of the Content-Security-Policy the server sends', async () => {
    for (const p of people) expect(await contentSecurityViolations(p.page), p.name).toEqual([]);
  });

  it('removes the tile of someone who leaves', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    await carol.page.click('#leave');
    await waitFor('Carol to see the goodbye screen', () => carol.page.$eval('.end-screen', (e) => e.getAttribute('data-end-reason') === 'left'));
    for (const viewer of [alice, bob]) {
      await waitFor(`${viewer.name} to drop Carol's tile`, () =>
        viewer.page.$$eval(`[data-peer-id="${carol.peerId}"]`, (tiles) => tiles.length === 0),
      );
      expect(await viewer.page.$$eval('[data-testid="tile"]', (t) => t.length)).toBe(2);
    }
  });
});
