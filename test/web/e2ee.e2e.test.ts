// End-to-end encryption in the real web client: three headless Chromium
// instances, each with a microphone playing its own tone, meet through the
// real bridge; a moderator turns E2EE on, and each still decodes the others'
// video and hears their tone, now through the E2EE worker (its frame counts
// prove every frame was encrypted by the sender and decrypted here).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { startBridge } from '../helpers/bridge.ts';
import { clickJoin, inboundStats, joinThroughUi, launchBrowser, receivedAudio } from '../helpers/browser.ts';
import { RtpReceiver } from '../helpers/rtp.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

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

async function toneFrom(viewer: Participant, sender: Participant, frequency: number): Promise<number> {
  const { samples, sampleRate } = await receivedAudio(viewer.page, sender.peerId);
  return windowedToneShare(samples, sampleRate, frequency);
}

/**
 * A VP8 RTP payload (RFC 7741) without its payload descriptor and, on a
 * frame's first packet, without the frame tag E2EE leaves in the clear (10
 * bytes on a keyframe, 3 otherwise): what E2EE hides.
 */
function vp8Hidden(payload: Buffer): Buffer {
  let offset = 1;
  if (payload[0]! & 0x80) {
    const extension = payload[1]!;
    offset = 2;
    if (extension & 0x80) offset += payload[offset]! & 0x80 ? 2 : 1; // picture id
    if (extension & 0x40) offset += 1; // TL0PICIDX
    if (extension & 0x30) offset += 1; // TID, KEYIDX
  }
  const frameStart = (payload[0]! & 0x10) !== 0 && (payload[0]! & 0x07) === 0;
  if (frameStart) offset += (payload[offset]! & 0x01) === 0 ? 10 : 3;
  return payload.subarray(offset);
}

/**
 * What deflate makes of 2 s of `producerId`'s VP8 as a middlebox at the bridge
 * sees it (a plain-RTP consumer): compressed size over original, beyond the
 * clear prefix. Encrypted bytes do not compress at all (1.000: deflate's
 * framing only adds); VP8's own coding is dense already, so plain frames of
 * Chromium's fake camera compress only a little (0.983 measured).
 */
async function middleboxRatio(middlebox: Joined, producerId: string): Promise<number> {
  const receiver = new RtpReceiver();
  const port = await receiver.bind();
  try {
    const transport = await middlebox.client.request('createPlainTransport', { comedia: false, rtcpMux: true });
    await middlebox.client.request('connectPlainTransport', { transportId: transport.id, ip: '127.0.0.1', port });
    const consumer = await middlebox.client.request('consume', {
      transportId: transport.id,
      producerId,
      rtpCapabilities: middlebox.joined.routerRtpCapabilities,
    });
    // The media only: the bridge's bandwidth probes (padding, another SSRC) compress like anything empty.
    const ssrc = consumer.rtpParameters.encodings![0]!.ssrc;
    const media = () => receiver.packets.filter((p) => p.ssrc === ssrc);
    await waitFor('VP8 at the middlebox', () => media().length >= 100, 10_000);
    await middlebox.client.request('closeConsumer', { consumerId: consumer.id });
    const hidden = Buffer.concat(media().map((p) => vp8Hidden(p.payload)));
    return deflateSync(hidden, { level: 9 }).length / hidden.length;
  } finally {
    receiver.close();
  }
}

describe('end-to-end encrypted meeting in the browser', () => {
  let bridge: Bridge;
  const people: Participant[] = [];
  const room = 'sealed';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2ee-'));
  let middlebox: Joined;
  let plainRatio: number;
  const pairs = () => people.flatMap((viewer) => people.filter((other) => other !== viewer).map((other) => [viewer, other] as const));

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
    for (const [name, tone] of [['Alice', 440], ['Bob', 700], ['Carol', 1100]] as const) {
      const file = path.join(dir, `${name}.wav`);
      writeToneWav(file, tone, 30, { sampleRate: 16000 });
      const browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${file}`] });
      const page = await browser.newPage();
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
    // The control: with E2EE off, a middlebox gets VP8 that compresses.
    await waitFor('Alice to decode Bob', async () => (await framesDecoded(alice, bob)) >= 30, 20_000, 250);
    plainRatio = await middleboxRatio(middlebox, cameraOf(bob));
    expect(await alice.page.evaluate(() => window.conference!.role.value)).toBe('moderator');
    await alice.page.click('#toggle-participants');
    await alice.page.click('#toggle-e2ee');
    for (const viewer of people) {
      await viewer.page.waitForSelector('[data-testid=e2ee-on]', { timeout: 10_000 });
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

  it('leaves a middlebox at the bridge only bytes that do not compress, where they did with E2EE off', async () => {
    const sealedRatio = await middleboxRatio(middlebox, cameraOf(people[1]!));
    console.log(`VP8 beyond the clear prefix, deflated: ${plainRatio.toFixed(3)} with E2EE off, ${sealedRatio.toFixed(3)} with it on`);
    expect(sealedRatio).toBeGreaterThan(0.999);
    expect(plainRatio).toBeLessThan(0.995);
  });

  it('hears each participant’s own tone, decrypted', async () => {
    for (const [viewer, sender] of pairs()) {
      await waitFor(`${viewer.name} to hear ${sender.name}'s ${sender.tone} Hz`, async () => (await toneFrom(viewer, sender, sender.tone)) > 0.5, 20_000, 0);
      const other = people.find((p) => p !== viewer && p !== sender)!;
      expect(await toneFrom(viewer, sender, other.tone)).toBeLessThan(0.05);
    }
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
    }
  });

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
