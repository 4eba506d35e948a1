// Two headless Chromium participants with fake cameras and microphones are
// recorded by a real recorder worker (Xvfb + PulseAudio + Chromium + ffmpeg)
// taking jobs from a real Redis, started and stopped from the web UI.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { RecordingFile, RecordingInfo } from '../../bridge/protocol.ts';
import { recordingResultSchema } from '../../queue/recordingJob.ts';
import type { RecorderWorker } from '../../recorder/RecorderWorker.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { audioVolume, codecs, motionShare, probe } from '../helpers/media.ts';
import { startRecorder } from '../helpers/recorder.ts';
import { TestRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

describe('recording a meeting', () => {
  let redis: TestRedis;
  let bridge: Bridge;
  let recorder: { worker: RecorderWorker; dir: string };
  const browsers: Browser[] = [];
  const pages: Page[] = [];
  const room = 'boardroom';

  beforeAll(async () => {
    redis = await TestRedis.start();
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'recordings-'));
    bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: dir });
    recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir });
    for (const name of ['Alice', 'Bob']) {
      const browser = await launchBrowser();
      browsers.push(browser);
      const page = await browser.newPage();
      await joinThroughUi(page, `${bridge.url}/${room}`, name);
      pages.push(page);
    }
  }, 120_000);

  afterAll(async () => {
    for (const browser of browsers) await browser.close().catch(() => undefined);
    await recorder?.worker.stop();
    await bridge?.stop();
    await redis?.stop();
  });

  const current = (page: Page) =>
    page.evaluate(() => [...window.conference!.recordings.value.values()]) as Promise<RecordingInfo[]>;

  it('records ~10 s from the Record button to an MP4 with H.264 video that moves and AAC audio that is not silent', async () => {
    const [alice, bob] = pages as [Page, Page];
    await alice.click('#record-button');
    // Everyone sees the indicator once capture runs.
    const active = await waitFor('the recording to be active', async () => (await current(bob)).find((r) => r.state === 'active'), 45_000, 100);
    const activeAt = Date.now();
    await bob.waitForSelector('[data-testid=recording-indicator]');
    await alice.waitForSelector('[data-testid=recording-indicator]');
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the length of meeting to record, not an assertion
    await alice.click('#record-button');
    const recordedFor = (Date.now() - activeAt) / 1000;
    await waitFor('the indicator to go', async () => !(await bob.$('[data-testid=recording-indicator]')), 30_000, 200);

    const listing = await waitFor(
      'the file in the REST listing',
      async () => {
        const body = (await (await fetch(`${bridge.url}/api/rooms/${room}/recordings`)).json()) as { files: RecordingFile[] };
        return body.files.find((f) => f.id === active.id);
      },
      30_000,
      300,
    );
    expect(listing.stopReason).toBe('stopped');
    expect(listing.parts).toBe(1);

    // Downloaded through REST, as a user would.
    const response = await fetch(`${bridge.url}${listing.url}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const downloaded = path.join(recorder.dir, 'downloaded.mp4');
    fs.writeFileSync(downloaded, Buffer.from(await response.arrayBuffer()));
    expect(fs.statSync(downloaded).size).toBe(listing.bytes);

    const probed = await probe(downloaded);
    expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
    expect(probed.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 1280, height: 720 });
    expect(Math.abs(Number(probed.format.duration) - recordedFor)).toBeLessThanOrEqual(1);
    const volume = await audioVolume(downloaded);
    expect(volume.max).toBeGreaterThan(-30); // the fake microphones' beeps
    expect(await motionShare(downloaded)).toBeGreaterThan(0.5); // the fake cameras' moving pattern

    // The metadata beside it names the room, the participants and how it ended.
    const metadata = recordingResultSchema.parse(JSON.parse(fs.readFileSync(path.join(recorder.dir, room, listing.name.replace(/\.mp4$/, '.json')), 'utf8')));
    expect(metadata).toMatchObject({ room, stopReason: 'stopped', mode: 'composite', parts: [] });
    expect(metadata.participants.sort()).toEqual(['Alice', 'Bob']);
    expect(metadata.errors).toEqual([]);
    // The page shows it in its list with a download link.
    await alice.click('#toggle-recordings');
    const link = await alice.waitForSelector(`[data-testid=recording-file][data-recording-id="${active.id}"] a[download]`);
    expect(await link!.evaluate((a) => (a as HTMLAnchorElement).getAttribute('href'))).toBe(listing.url);
  }, 150_000);
});
