// End-to-end encryption in the real web client: three headless Chromium
// instances, each with a microphone playing its own tone, meet through the
// real bridge; a moderator turns E2EE on, and each still decodes the others'
// video and hears their tone, now through the E2EE worker (its frame counts
// prove every frame was encrypted by the sender and decrypted here), while
// the bridge, which cannot read a frame, still switches simulcast layers and
// finds the loudest speaker. A middlebox at the bridge gets only noise.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { greyFrames, meanDifference } from '../helpers/media.ts';
import { startBridge } from '../helpers/bridge.ts';
import { clickJoin, inboundStats, joinThroughUi, keepPeerConnections, launchBrowser, receivedAudio, videoRtpStats } from '../helpers/browser.ts';
import type { RtpPacket } from '../../media/rtp.ts';
import { consumeToSocket, joinRoom, type Joined } from '../helpers/signaling.ts';
import { vp8Frames, vp8Hidden, writeIvf } from '../helpers/vp8.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);

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

/** How much of what `viewer` receives from `sender` over a second is each of the frequencies. */
async function toneShares(viewer: Participant, sender: Participant, ...frequencies: number[]): Promise<number[]> {
  const { samples, sampleRate } = await receivedAudio(viewer.page, sender.peerId);
  return frequencies.map((frequency) => windowedToneShare(samples, sampleRate, frequency));
}

/** 2 s or more of `producerId`'s VP8 as a middlebox at the bridge gets it: a plain-RTP consumer. */
async function middleboxCapture(middlebox: Joined, producerId: string): Promise<RtpPacket[]> {
  const { receiver, consumer } = await consumeToSocket(middlebox, producerId);
  try {
    // The media only: the bridge's bandwidth probes (padding, another SSRC) compress like anything empty.
    const ssrc = consumer.rtpParameters.encodings![0]!.ssrc;
    const media = () => receiver.packets.filter((p) => p.ssrc === ssrc);
    await waitFor('VP8 at the middlebox', () => media().length >= 100 && vp8Frames(media()).length >= 30, 15_000);
    await middlebox.client.request('closeConsumer', { consumerId: consumer.id });
    return media();
  } finally {
    receiver.close();
  }
}

/**
 * What deflate makes of the VP8 beyond the clear prefix: compressed size over
 * original. Encrypted bytes do not compress at all (1.000: deflate's framing
 * only adds); VP8's own coding is dense already, so plain frames compress
 * only a little (0.98 or so).
 */
function hiddenRatio(packets: readonly RtpPacket[]): number {
  const hidden = Buffer.concat(packets.map((p) => vp8Hidden(p.payload)));
  return deflateSync(hidden, { level: 9 }).length / hidden.length;
}

/** A grey thumbnail's size: enough to tell colour bars from anything else. */
const THUMBNAIL = { width: 32, height: 18 };

/**
 * The middlebox tries to watch: ffmpeg decodes the frames it captured. How
 * many pictures came out, and how many of them look like `reference` (the
 * sender's camera picture) within a few grey levels.
 */
async function middleboxPictures(packets: readonly RtpPacket[], reference: Buffer, dir: string): Promise<{ decoded: number; matching: number }> {
  const file = path.join(dir, 'middlebox.ivf');
  writeIvf(file, vp8Frames(packets));
  // A decoder fed noise may give up on the whole file: that is no picture.
  const pictures = await greyFrames(file, THUMBNAIL).catch(() => []);
  return { decoded: pictures.length, matching: pictures.filter((p) => meanDifference(p, reference) < 12).length };
}

describe('end-to-end encrypted meeting in the browser', () => {
  let bridge: Bridge;
  const people: Participant[] = [];
  const room = 'sealed';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2ee-'));
  let middlebox: Joined;
  /** What the middlebox got from Bob's camera with E2EE off (the control). */
  let plain: RtpPacket[];
  /** Bob's camera picture, a thumbnail of the colour bars his fake camera plays. */
  let bars: Buffer;
  const pairs = () => people.flatMap((viewer) => people.filter((other) => other !== viewer).map((other) => [viewer, other] as const));

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    // Bob's camera shows colour bars, a picture a middlebox would recognise if it could decode it.
    const barsFile = path.join(dir, 'bars.y4m');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'smptebars=size=1280x720:rate=30', '-frames:v', '3', '-pix_fmt', 'yuv420p', barsFile]);
    bars = (await greyFrames(barsFile, THUMBNAIL))[0]!;
    // Each its own tone, Bob loudest and Carol quietest: the one speaker detection should pick, and who follows.
    const voices = [['Alice', 440, 8000], ['Bob', 700, 16000], ['Carol', 1100, 2000]] as const;
    // Launched side by side (a launch is mostly waiting), then joined in turn: Alice first, the moderator.
    const browsers = await Promise.all(
      voices.map(([name, tone, amplitude]) => {
        const file = path.join(dir, `${name}.wav`);
        writeToneWav(file, tone, 30, { sampleRate: 16000, amplitude });
        const camera = name === 'Bob' ? [`--use-file-for-fake-video-capture=${barsFile}`] : [];
        return launchBrowser({ args: [`--use-file-for-fake-audio-capture=${file}`, ...camera] });
      }),
    );
    for (const [index, [name, tone]] of voices.entries()) {
      const browser = browsers[index]!;
      const page = await browser.newPage();
      await keepPeerConnections(page);
      // Original sound: a noise suppressor would remove a steady tone.
      await joinThroughUi(page, `${bridge.url}/${room}?audioProcessing=off`, name);
      people.push({ name, tone, browser, page, peerId: await page.evaluate(() => window.conference!.selfId.value!) });
    }
    // A service at the bridge: services may stay while E2EE is on, as they never decode what the room sends.
    middlebox = await joinRoom(bridge.url, room, 'Middlebox', 'service');
  }, 60_000);

  afterAll(async () => {
    middlebox?.client.close();
    for (const p of people) await p.browser.close().catch(() => undefined);
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cameraOf = (p: Participant) => bridge.registry.get(room)!.getPeer(p.peerId)!.info().producers.find((x) => x.source === 'camera')!.id;

  it('lets the moderator turn E2EE on; everyone shows the shield and everyone as encrypting', async () => {
    const [alice, bob] = people as [Participant, Participant];
    // The control: with E2EE off, a middlebox gets VP8 it can decode (see below).
    await waitFor('Alice to decode Bob', async () => (await framesDecoded(alice, bob)) >= 30, 20_000, 250);
    plain = await middleboxCapture(middlebox, cameraOf(bob));
    expect(await alice.page.evaluate(() => window.conference!.role.value)).toBe('moderator');
    // Before: the dial-in PIN is on show.
    for (const viewer of people) await viewer.page.waitForSelector('[data-testid=dial-in-pin]', { timeout: 5_000 });
    await alice.page.click('#toggle-participants');
    await alice.page.click('#toggle-e2ee');
    for (const viewer of people) {
      await viewer.page.waitForSelector('[data-testid=e2ee-on]', { timeout: 10_000 });
      // No dial-in PIN on show while no phone may join: the chip says why instead.
      await viewer.page.waitForSelector('[data-testid=dial-in-off]', { timeout: 5_000 });
      expect(await viewer.page.$('[data-testid=dial-in-pin]')).toBeNull();
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

  it('leaves a middlebox at the bridge only noise it cannot decode, where it could watch Bob with E2EE off', async () => {
    const sealed = await middleboxCapture(middlebox, cameraOf(people[1]!));
    const [plainRatio, sealedRatio] = [hiddenRatio(plain), hiddenRatio(sealed)];
    const [plainPictures, sealedPictures] = [await middleboxPictures(plain, bars, dir), await middleboxPictures(sealed, bars, dir)];
    console.log(
      `middlebox: VP8 beyond the clear prefix deflates to ${plainRatio.toFixed(3)} with E2EE off, ${sealedRatio.toFixed(3)} with it on; ` +
        `ffmpeg decodes ${JSON.stringify(plainPictures)} off, ${JSON.stringify(sealedPictures)} on (pictures like Bob's colour bars)`,
    );
    expect(sealedRatio).toBeGreaterThan(0.999);
    expect(plainRatio).toBeLessThan(0.995);
    // The control: a middlebox without E2EE sees Bob's picture.
    expect(plainPictures.matching).toBeGreaterThanOrEqual(10);
    expect(sealedPictures.matching).toBe(0);
  });

  it('hears each participant’s own tone, decrypted', async () => {
    // All six pairs at once: each records a second of what it receives from one sender.
    await Promise.all(
      pairs().map(async ([viewer, sender]) => {
        const other = people.find((p) => p !== viewer && p !== sender)!;
        await waitFor(`${viewer.name} to hear ${sender.name}'s ${sender.tone} Hz, and not ${other.name}'s`, async () => {
          const [own, others] = await toneShares(viewer, sender, sender.tone, other.tone);
          return own! > 0.5 && others! < 0.05;
        }, 20_000, 0);
      }),
    );
  });

  it('still switches the simulcast layer a viewer gets: the middle one in the grid, the smallest in the filmstrip', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    const carolsHeightAtAlice = async () =>
      (await inboundStats(alice.page)).find((s) => s.peerId === carol.peerId && s.source === 'camera' && s.kind === 'video')?.frameHeight ?? 0;
    /** Alice decodes Carol's layer `rid` (its height as Carol's encoder makes it now: a loaded Chromium scales layers down). */
    const decodes = async (rid: string) => {
      const layer = (await videoRtpStats(carol.page)).find((s) => s.type === 'outbound-rtp' && s.rid === rid)?.frameHeight;
      const smallest = (await videoRtpStats(carol.page)).find((s) => s.type === 'outbound-rtp' && s.rid === 'r0')?.frameHeight;
      return layer !== undefined && (rid === 'r0' || layer !== smallest) && (await carolsHeightAtAlice()) === layer;
    };
    // With the other cameras off, Carol's encoder and the bandwidth estimates have room for two layers.
    for (const p of [alice, bob]) await p.page.click('#toggle-camera');
    try {
      // Speaker view stages the active speaker, Bob (the loudest): Carol goes to the filmstrip.
      await waitFor('Bob as the active speaker', () => bridge.registry.get(room)!.activeSpeakerId === bob.peerId, 15_000, 250);
      await waitFor('Alice to decode Carol’s middle layer in the grid', () => decodes('r1'), 30_000, 250);
      const grid = await carolsHeightAtAlice();
      await alice.page.click('#toggle-layout');
      try {
        await waitFor('Alice to decode Carol’s smallest layer in the filmstrip', () => decodes('r0'), 20_000, 250);
        console.log(`Carol's video at Alice: ${grid} lines in the grid, ${await carolsHeightAtAlice()} in the filmstrip`);
      } finally {
        await alice.page.click('#toggle-layout');
      }
      await waitFor('Alice to decode Carol’s middle layer again', () => decodes('r1'), 20_000, 250);
    } finally {
      for (const p of [alice, bob]) await p.page.click('#toggle-camera');
    }
    // Cameras turned on again under E2EE: new senders, encrypted from their first frame.
    await Promise.all(
      [[alice, bob], [bob, alice], [carol, alice]].map(async ([viewer, sender]) => {
        await waitFor(`${viewer!.name} to decode ${sender!.name}’s camera again`, async () => (await framesDecoded(viewer!, sender!)) >= 30, 20_000, 250);
      }),
    );
  });

  it('still finds the loudest speaker from the audio levels, which stay in the clear, and follows them', async () => {
    const [alice, bob] = people as [Participant, Participant];
    const loudestAt = (viewer: Participant) =>
      viewer.page.evaluate(() => {
        const levels = [...window.conference!.levels.value];
        return levels.length ? levels.reduce((a, b) => (b[1] > a[1] ? b : a))[0] : null;
      });
    const everyoneFinds = async (speaker: Participant) => {
      for (const viewer of people) {
        await waitFor(`${viewer.name} to find ${speaker.name} loudest`, async () => (await loudestAt(viewer)) === speaker.peerId, 15_000, 250);
      }
    };
    // The bridge's pick of the active speaker, from the same levels: Bob.
    for (const viewer of people) {
      await waitFor(`${viewer.name} to see Bob as the active speaker`, () =>
        viewer.page.evaluate((peerId) => window.conference!.activeSpeakerId.value === peerId, bob.peerId),
      15_000, 250);
    }
    await everyoneFinds(bob);
    await bob.page.click('#toggle-mic');
    try {
      await everyoneFinds(alice); // louder than Carol
    } finally {
      await bob.page.click('#toggle-mic');
    }
    await everyoneFinds(bob);
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

  it('turns away a browser that cannot encrypt, with the bridge’s reason on the end screen', async () => {
    const page = await people[0]!.browser.newPage();
    try {
      await page.evaluateOnNewDocument(() => delete (window as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform);
      await clickJoin(page, `${bridge.url}/${room}`, 'Dave');
      await page.waitForSelector('[data-end-reason=encrypted]', { timeout: 10_000 });
      expect(await page.$eval('[data-testid=end-detail]', (el) => el.textContent)).toMatch(/end-to-end encrypted and cannot be joined from this browser/);
    } finally {
      await page.close();
      await people[0]!.page.bringToFront(); // a page in the background stops decoding
    }
  });

  it('shows a browser whose keys were spoiled on the way no picture, and says it cannot decrypt, while the others go on', async () => {
    const [alice, bob] = people as [Participant, Participant];
    // A browser of his own: a second page in Alice's would put hers in the background, where Chromium stops decoding.
    const browser = await launchBrowser();
    const page = await browser.newPage();
    try {
      // Every key wrapped for Dave is damaged before his worker gets it (one base64 character changed).
      await page.evaluateOnNewDocument(() => {
        const post = Worker.prototype.postMessage as (this: Worker, message: unknown, options?: StructuredSerializeOptions | Transferable[]) => void;
        Worker.prototype.postMessage = function (this: Worker, message: unknown, options?: StructuredSerializeOptions | Transferable[]) {
          const request = message as { op?: string; wrapped?: string };
          if (request?.op === 'setKey' && request.wrapped) {
            const wrapped = request.wrapped;
            message = { ...request, wrapped: wrapped.slice(0, 8) + (wrapped[8] === 'A' ? 'B' : 'A') + wrapped.slice(9) };
          }
          post.call(this, message, options);
        } as typeof Worker.prototype.postMessage;
      });
      await joinThroughUi(page, `${bridge.url}/${room}`, 'Dave');
      const dave = { name: 'Dave', tone: 0, browser, page, peerId: await page.evaluate(() => window.conference!.selfId.value!) };
      await waitFor('Dave to say he cannot decrypt the three others', async () => (await page.$$('[data-testid=cannot-decrypt]')).length === people.length, 20_000, 250);
      expect(await page.$eval('[data-testid=cannot-decrypt]', (el) => el.textContent)).toMatch(/Cannot decrypt (Alice|Bob|Carol)/);
      for (const sender of people) {
        expect(await framesDecoded(dave, sender)).toBe(0);
        const frames = await workerFrames(dave, sender);
        expect(frames?.failed ?? 0).toBeGreaterThan(0);
        expect(frames?.decrypted ?? 0).toBe(0);
      }
      // Everyone else still decodes everyone, Dave included: his key reached them though theirs did not reach him.
      const decoded = await framesDecoded(alice, bob);
      // 30 s each: four Chromiums encrypting on two shared cores decoded Bob's smallest layer too slowly for 15 s in two runs of five here.
      // Going on is 10 more frames, not 30: in one clean-clone CI run Alice decoded fewer than 30 of Bob's in 30 s
      // while Dave was in (the next test, once he had left, decoded 30 in under 7 s). A stopped picture still fails.
      await waitFor('Alice to go on decoding Bob', async () => (await framesDecoded(alice, bob)) >= decoded + 10, 30_000, 250);
      await waitFor('Alice to decode Dave', async () => (await framesDecoded(alice, dave)) >= 30, 30_000, 250);
    } finally {
      await browser.close();
    }
  }, 120_000); // its own browser, then waits of 20 + 30 + 30 s on a loaded machine: more than the default 60 s

  it('keeps the others decrypting each other after someone leaves (a new key, handed to those who stay)', async () => {
    const [alice, bob, carol] = people as [Participant, Participant, Participant];
    await carol.page.click('#leave');
    await waitFor('Carol gone at the bridge', () => !bridge.registry.get(room)!.getPeer(carol.peerId));
    await Promise.all(
      [[alice, bob], [bob, alice]].map(async ([viewer, sender]) => {
        const decrypted = (await workerFrames(viewer!, sender!))!.decrypted;
        const decoded = await framesDecoded(viewer!, sender!);
        await waitFor(`${viewer!.name} to decrypt ${sender!.name} after the rotation`, async () => (await workerFrames(viewer!, sender!))!.decrypted >= decrypted + 100, 15_000, 250);
        await waitFor(`${viewer!.name} to decode ${sender!.name} after the rotation`, async () => (await framesDecoded(viewer!, sender!)) >= decoded + 30, 15_000, 250);
      }),
    );
    expect(await alice.page.$$('[data-testid=cannot-decrypt]')).toEqual([]);
  });
});
