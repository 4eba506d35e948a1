// Joining while things happen to our own media, at exact points of the join
// (made to happen there by the page's own WebSocket, so races met a few times
// in a hundred joins happen every time):
//  - Leave clicked while the join still sets up our camera and microphone (the
//    join benchmark clicks it as soon as the remote video shows). The abandoned
//    join used to finish after the leave and mark the meeting connected again,
//    so the socket the leave closed was "lost" and the page rejoined as a new
//    peer: no end screen, the remote video back, "Could not send your
//    microphone/camera: track ended" (the leave had let the devices go).
//  - The camera and microphone stopping after Join, before they are sent: they
//    show as off and say so, and one click starts each again. Before Join, the
//    join form opens a stopped device again.
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { inboundStats, joinThroughUi, launchBrowser, openJoinForm, seesAndHears } from '../helpers/browser.ts';
import { waitFor } from '../helpers/wait.ts';

/** A moment of the join: the page sending a request, or the bridge's answer to it arriving (before the page reads it). */
interface Moment {
  method: string;
  direction?: 'send' | 'recv';
  at: 'sent' | 'answered';
}

/** What happens then: the user clicks Leave, or the camera and microphone stop (unplugged, their capture failed). */
type Happening = 'leave' | 'devicesStop';

declare global {
  interface Window {
    happened?: boolean;
    socketClosed?: boolean;
    openedTracks?: MediaStreamTrack[];
  }
}

/** Keeps every camera and microphone track the page opens, in `window.openedTracks`. */
function keepOpenedTracks(page: Page): Promise<unknown> {
  return page.evaluateOnNewDocument(() => {
    window.openedTracks = [];
    const getUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (constraints) => {
      const stream = await getUserMedia(constraints);
      window.openedTracks!.push(...stream.getTracks());
      return stream;
    };
  });
}

/** Makes `what` happen in the page at `moment` of its join. */
function makeHappen(page: Page, what: Happening, moment: Moment): Promise<unknown> {
  return page.evaluateOnNewDocument(
    (what: Happening, m: Moment) => {
      window.happened = false;
      const happen = () => {
        if (window.happened) return;
        window.happened = true;
        if (what === 'leave') document.querySelector<HTMLButtonElement>('#leave')!.click();
        else for (const track of window.openedTracks!) track.stop();
      };
      let answerId: number | undefined;
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function (data) {
        send.call(this, data);
        const message = JSON.parse(String(data)) as { id: number; method: string; data?: { direction?: string } };
        if (message.method !== m.method || (m.direction && message.data?.direction !== m.direction)) return;
        if (m.at === 'sent') happen();
        else answerId = message.id;
      };
      const addEventListener = WebSocket.prototype.addEventListener;
      WebSocket.prototype.addEventListener = function (type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions) {
        if (type === 'close') addEventListener.call(this, type, () => (window.socketClosed = true));
        if (type !== 'message' || typeof listener !== 'function') return addEventListener.call(this, type, listener, options);
        const beforeThePage = (event: Event) => {
          if (answerId !== undefined && (JSON.parse(String((event as MessageEvent).data)) as { id?: number }).id === answerId) happen();
          listener.call(this, event);
        };
        return addEventListener.call(this, type, beforeThePage, options);
      };
    },
    what,
    moment,
  );
}

describe('joining: a Leave or dead devices while our media is set up', () => {
  let bridge: Bridge;
  const browsers: Browser[] = [];
  let presenter: Page;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    browsers.push(await launchBrowser(), await launchBrowser());
    presenter = await browsers[0]!.newPage();
    await joinThroughUi(presenter, `${bridge.url}/joining`, 'Presenter');
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await bridge?.stop();
  });

  /** The joiner's page, with `what` set to happen at `moment`, Join clicked and `what` happened. */
  async function join(what: Happening, moment: Moment): Promise<Page> {
    const page = await browsers[1]!.newPage();
    await keepOpenedTracks(page);
    await makeHappen(page, what, moment);
    await openJoinForm(page, `${bridge.url}/joining`, 'Joiner');
    await page.click('#join-button');
    await waitFor(`${what} at ${moment.method} ${moment.at}`, () => page.evaluate(() => window.happened), 15_000);
    return page;
  }

  const moments: Moment[] = [
    { method: 'createWebRtcTransport', direction: 'send', at: 'sent' },
    // The benchmark's case: the answer was on its way when Leave was clicked ("track ended" twice, then no end screen).
    { method: 'createWebRtcTransport', direction: 'send', at: 'answered' },
    { method: 'produce', at: 'sent' },
  ];
  const named = moments.map((m) => ({ ...m, name: [m.method, m.direction].filter(Boolean).join(' ') }));
  it.each(named)('Leave as $name is $at ends the meeting for good and lets the devices go', async (moment) => {
    const page = await join('leave', moment);
    await page.waitForSelector('.end-screen', { timeout: 10_000 });
    // The abandoned join runs out once the socket has closed (its requests fail then): the end
    // screen outlasts it, with no notice about media that the leave itself let go.
    await waitFor('the socket closed', () => page.evaluate(() => window.socketClosed), 10_000);
    const until = Date.now() + 2000;
    while (Date.now() < until) {
      const seen = await page.evaluate(() => ({
        status: window.conference!.status.value,
        endScreen: !!document.querySelector('.end-screen'),
        notices: window.conference!.notices.value.map((n) => n.text),
      }));
      expect(seen).toEqual({ status: 'ended', endScreen: true, notices: [] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await page.evaluate(() => window.openedTracks!.map((t) => t.readyState))).toEqual(['ended', 'ended']);
    await waitFor('the joiner gone from the room', () => bridge.registry.get('joining')!.visiblePeers().length === 1, 10_000);
    await page.close();
  });

  it('devices that stopped after Join are shown off, said so, and start again with a click', async () => {
    const page = await join('devicesStop', { method: 'createWebRtcTransport', direction: 'send', at: 'sent' });
    await page.waitForFunction(() => window.conference!.status.value === 'connected', { timeout: 15_000 });
    const seen = await page.evaluate(() => ({
      camera: window.conference!.cameraTrack.value,
      micOn: window.conference!.micOn.value,
      notices: window.conference!.notices.value.map((n) => n.text),
    }));
    expect(seen).toEqual({
      camera: null,
      micOn: false,
      notices: [
        'Your microphone stopped before it could be sent. Turn it on again to restart it.',
        'Your camera stopped before it could be sent. Turn it on again to restart it.',
      ],
    });
    // Each button opens its device again, and the room gets it.
    const joinerId = await page.evaluate(() => window.conference!.selfId.value!);
    await page.click('#toggle-camera');
    // The toolbar ignores clicks while one is under way: the camera is sent before the microphone is clicked.
    await waitFor('the presenter decoding the joiner\'s camera', async () =>
      (await inboundStats(presenter)).some((s) => s.peerId === joinerId && s.source === 'camera' && s.framesDecoded > 0), 15_000, 250);
    await page.click('#toggle-mic');
    await waitFor('the microphone back on', () => page.evaluate(() => window.conference!.micOn.value && window.conference!.hasMicrophone), 10_000);
    await seesAndHears(presenter, joinerId, 'the presenter seeing and hearing the joiner');
    await page.close();
  });

  it('a camera that stops before Join is opened again, and Join waits for it', async () => {
    const page = await browsers[1]!.newPage();
    await keepOpenedTracks(page);
    await openJoinForm(page, `${bridge.url}/joining`, 'Joiner');
    // As the browser reports a camera that went away (unplugged, its capture failed).
    await page.evaluate(() => {
      const camera = window.openedTracks!.find((t) => t.kind === 'video')!;
      camera.stop();
      camera.dispatchEvent(new Event('ended'));
    });
    const cameras = () => page.evaluate(() => window.openedTracks!.filter((t) => t.kind === 'video').map((t) => t.readyState).join());
    await waitFor('the camera opened again', async () => (await cameras()) === 'ended,live', 10_000);
    await page.waitForSelector('#join-button:not([disabled])');
    await page.click('#join-button');
    await page.waitForFunction(() => window.conference?.status.value === 'connected', { timeout: 15_000 });
    const joinerId = await page.evaluate(() => window.conference!.selfId.value!);
    await seesAndHears(presenter, joinerId, 'the presenter seeing and hearing the joiner');
    expect(await page.evaluate(() => window.conference!.notices.value.map((n) => n.text))).toEqual([]);
    await page.close();
  });
});
