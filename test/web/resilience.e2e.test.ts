// What a person sees when things go wrong: a media server crash, a dropped
// connection, media that cannot connect, a full room, a blocked camera.
import type { Browser, Page } from 'puppeteer-core';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { Room } from '../../bridge/rooms/Room.ts';
import { startBridge } from '../helpers/bridge.ts';
import { inboundStats, joinThroughUi, launchBrowser, type BrowserOptions } from '../helpers/browser.ts';
import { waitFor } from '../helpers/wait.ts';

const browsers: Browser[] = [];
let bridge: Bridge | undefined;

async function openPage(options?: BrowserOptions): Promise<Page> {
  const browser = await launchBrowser(options);
  browsers.push(browser);
  return browser.newPage();
}

/** Alice and Bob in a room, each already decoding the other's video. */
async function twoInRoom(room: string): Promise<[Page, Page]> {
  const pages: [Page, Page] = [await openPage(), await openPage()];
  await joinThroughUi(pages[0], `${bridge!.url}/${room}`, 'Alice');
  await joinThroughUi(pages[1], `${bridge!.url}/${room}`, 'Bob');
  await Promise.all(pages.map((page) => decodesMoreVideo(page, 20)));
  return pages;
}

/** Waits until the page decodes at least `frames` more video frames from someone. */
async function decodesMoreVideo(page: Page, frames: number): Promise<void> {
  const total = async () => (await inboundStats(page)).filter((s) => s.kind === 'video').reduce((sum, s) => sum + s.framesDecoded, 0);
  const start = await total().catch(() => 0);
  await waitFor('more decoded video frames', async () => (await total()) >= start + frames, 20_000, 250);
}

afterEach(async () => {
  vi.restoreAllMocks();
  for (const browser of browsers.splice(0)) await browser.close().catch(() => undefined);
  await bridge?.stop();
  bridge = undefined;
});
afterAll(async () => {
  await bridge?.stop();
});

describe('resilience in the browser', () => {
  it('recovers media on its own when the media worker crashes', async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '2' });
    const [alice, bob] = await twoInRoom('crash');

    const room = bridge.registry.get('crash')!;
    const deadPid = room.worker.pid;
    process.kill(deadPid, 'SIGKILL');
    await waitFor('the room on another worker', () => room.worker.pid !== deadPid && !room.worker.worker.closed);

    // No reload, no click: both sides rebuild their transports and see each other again.
    await decodesMoreVideo(alice, 30);
    await decodesMoreVideo(bob, 30);
    expect(await alice.evaluate(() => window.conference!.status.value)).toBe('connected');
  });

  it('shows that the connection dropped and reconnects by itself', async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    const [alice, bob] = await twoInRoom('flaky');
    const before = await bob.evaluate(() => window.conference!.selfId.value);

    // Cut every signaling connection the hard way, as a network drop would.
    for (const client of bridge.http.websocketServer.clients) client.terminate();
    const banner = await bob.waitForSelector('.banner.warning', { timeout: 5000 });
    expect(await banner!.evaluate((e) => e.textContent)).toContain('Reconnecting');
    await waitFor('Bob to be connected again', () => bob.evaluate(() => window.conference!.status.value === 'connected'), 20_000, 200);
    expect(await bob.evaluate(() => window.conference!.selfId.value)).not.toBe(before);
    await decodesMoreVideo(bob, 20);
    await decodesMoreVideo(alice, 20);
    expect(await bob.$('.banner.warning')).toBeNull();
  });

  it('says media could not connect and why, retries, and tells the operator', async () => {
    // A bridge announcing an address nothing listens on (198.18.0.0/15 is for benchmarks, routed nowhere).
    const logs: { msg: string; peer?: string; announced?: string[] }[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line) as (typeof logs)[number]) });
    bridge = await startBridge({ MEDIA_WORKERS: '1', MEDIA_ANNOUNCED_ADDRESS: '198.18.0.99' }, logger);
    const restarts = vi.spyOn(Room.prototype, 'restartIce');
    const alice = await openPage();
    await joinThroughUi(alice, `${bridge.url}/unreachable`, 'Alice');
    const banner = await alice.waitForSelector('[data-testid=media-problem]', { timeout: 20_000 });
    const text = await banner!.evaluate((e) => e.textContent!);
    const port = /^Media could not connect: no route to the media server: UDP and TCP to 198\.18\.0\.99:(\d+) failed\. Retrying…$/.exec(text)?.[1];
    expect(port, text).toBeDefined();
    await waitFor('an ICE restart', () => restarts.mock.calls.length > 0);
    const aliceId = await alice.evaluate(() => window.conference!.selfId.value);
    await waitFor('the bridge to log the browser that cannot reach it', () =>
      logs.some((l) => l.msg.startsWith('no ICE from the browser') && l.peer === aliceId && l.announced?.includes(`udp 198.18.0.99:${port}`)),
    20_000);
  });

  it('tells the third person that a two-person room is full', async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', ROOM_MAX_PEERS: '2' });
    for (const name of ['Alice', 'Bob']) await joinThroughUi(await openPage(), `${bridge.url}/small`, name);
    const carol = await openPage();
    await carol.goto(`${bridge.url}/small`);
    await carol.type('#display-name', 'Carol');
    await (await carol.waitForSelector('#join-button:not([disabled])'))!.click();
    const screen = await carol.waitForSelector('.end-screen[data-end-reason="roomFull"]');
    expect(await screen!.evaluate((e) => e.textContent)).toContain('This meeting is full');
  });

  it('explains a blocked camera and still lets the person join without it', async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    const alice = await openPage();
    await joinThroughUi(alice, `${bridge.url}/blocked`, 'Alice');
    // No fake permission UI: Chromium denies the camera and microphone prompts.
    const bob = await openPage({ mediaPermission: 'deny' });
    await bob.goto(`${bridge.url}/blocked`);
    const message = await bob.waitForSelector('.preview-off');
    await waitFor('the blocked-camera message', async () => (await message!.evaluate((e) => e.textContent))?.includes('blocking the camera'));
    expect(await bob.$eval('.mic-check .hint', (e) => e.textContent)).toContain('blocking the microphone');
    await bob.type('#display-name', 'Bob');
    await (await bob.waitForSelector('#join-button:not([disabled])'))!.click();
    await waitFor('Bob in the meeting', () => bob.evaluate(() => window.conference?.status.value === 'connected'));
    // Alice sees Bob as an avatar tile (no video), muted.
    const bobId = await bob.evaluate(() => window.conference!.selfId.value!);
    await waitFor('Bob’s avatar at Alice', () => alice.$(`[data-peer-id="${bobId}"] .avatar`));
    expect(await alice.$(`[data-peer-id="${bobId}"] .muted-icon`)).not.toBeNull();
  });
});
