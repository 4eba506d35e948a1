// Two headless Chromium participants with fake cameras and microphones are
// recorded by a real recorder worker (Xvfb + PulseAudio + Chromium + ffmpeg)
// taking jobs from a real Redis, started and stopped from the web UI.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { RecordingInfo } from '../../protocol/protocol.ts';
import { recordingResultSchema } from '../../queue/recordingJob.ts';
import type { RecorderWorker } from '../../recorder/RecorderWorker.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { audioVolume, codecs, motionBySecond, motionShare, probe } from '../helpers/media.ts';
import { NginxRtmp, REJECTED_KEY } from '../helpers/nginxRtmp.ts';
import { startRecorder } from '../helpers/recorder.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { TestRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

describe('recording a meeting', () => {
  let redis: TestRedis;
  let bridge: Bridge;
  let api: ReturnType<typeof recordingsApi>;
  let recorder: { worker: RecorderWorker; dir: string };
  const browsers: Browser[] = [];
  const pages: Page[] = [];
  const room = 'boardroom';

  beforeAll(async () => {
    redis = await TestRedis.start();
    const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'recordings-'));
    // The live-stream test streams to nginx-rtmp on loopback, which only an explicit allow entry opens.
    bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: dir, STREAM_ALLOWED_HOSTS: '127.0.0.1' });
    api = recordingsApi(bridge.url, room);
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

  const activeNow = (id: string) => waitFor(`recording ${id} active`, async () => (await api.listing()).current.find((r) => r.id === id && r.state === 'active'), 45_000, 100);
  const finishedFile = (id: string) => waitFor(`the file of ${id}`, async () => (await api.listing()).files.find((f) => f.id === id), 30_000, 200);
  const notices = (page: Page) => page.$$eval('.notice', (all) => all.map((n) => n.textContent ?? ''));

  // A test that failed midway leaves its recording running: stop it, so the next test has the worker's slots.
  afterEach(async () => {
    const { current } = await api.listing();
    for (const { id } of current) await api.stop(id);
    await waitFor('leftover recordings to finish', async () => (await api.listing()).current.length === 0, 60_000, 200);
  }, 90_000);

  const current = (page: Page) =>
    page.evaluate(() => [...window.conference!.recordings.value.values()]) as Promise<RecordingInfo[]>;

  it('records ~10 s from the Record button to an MP4 with H.264 video that moves and AAC audio that is not silent', async () => {
    const [alice, bob] = pages as [Page, Page];
    await alice.click('#record-button');
    // Everyone sees the indicator once capture runs.
    const active = await waitFor('the recording to be active', async () => (await current(bob)).find((r) => r.state === 'active'), 45_000, 100);
    // Capture began at startedAt (the worker's clock, this machine's); the UI may hear of it a moment later.
    const activeAt = active.startedAt!;
    await bob.waitForSelector('[data-testid=recording-indicator]');
    await alice.waitForSelector('[data-testid=recording-indicator]');
    await new Promise((resolve) => setTimeout(resolve, 10_000)); // the length of meeting to record, not an assertion
    const stopClickedAt = Date.now();
    await alice.click('#record-button');
    await waitFor('the indicator to go', async () => !(await bob.$('[data-testid=recording-indicator]')), 30_000, 200);

    const listing = await waitFor(
      'the file in the REST listing',
      async () => (await api.listing()).files.find((f) => f.id === active.id),
      30_000,
      300,
    );
    expect(listing.stopReason).toBe('stopped');
    expect(listing.parts).toBe(1);

    // Downloaded through REST, as the operator.
    const response = await api.download(listing.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('video/mp4');
    const downloaded = path.join(recorder.dir, 'downloaded.mp4');
    fs.writeFileSync(downloaded, Buffer.from(await response.arrayBuffer()));
    expect(fs.statSync(downloaded).size).toBe(listing.bytes);

    const probed = await probe(downloaded);
    expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
    expect(probed.streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 1280, height: 720 });
    // The stop reaches the capture through REST, the queue and the worker: on a
    // loaded machine that takes a moment, and the file rightly runs until then.
    // So: the capture ended soon after the click, and the file is as long as it ran.
    expect(listing.endedAt - stopClickedAt, 'from the Stop click to the end of capture (ms)').toBeGreaterThanOrEqual(0);
    expect(listing.endedAt - stopClickedAt, 'from the Stop click to the end of capture (ms)').toBeLessThan(5000);
    const recordedFor = (listing.endedAt - activeAt) / 1000;
    expect(Math.abs(Number(probed.format.duration) - recordedFor), `${probed.format.duration} s in the file, ${recordedFor} s of capture`).toBeLessThanOrEqual(1);
    const volume = await audioVolume(downloaded);
    expect(volume.max).toBeGreaterThan(-30); // the fake microphones' beeps
    expect(await motionShare(downloaded)).toBeGreaterThan(0.5); // the fake cameras' moving pattern

    // The metadata beside it names the room, the participants and how it ended.
    const metadata = recordingResultSchema.parse(JSON.parse(fs.readFileSync(path.join(recorder.dir, room, listing.name.replace(/\.mp4$/, '.json')), 'utf8')));
    expect(metadata).toMatchObject({ room, stopReason: 'stopped', mode: 'composite', parts: [] });
    expect(metadata.participants.sort()).toEqual(['Alice', 'Bob']);
    expect(metadata.errors).toEqual([]);
    // The page shows it in its list with a download link, which carries Alice's token (a link sends no header).
    await alice.click('#toggle-recordings');
    const link = await alice.waitForSelector(`[data-testid=recording-file][data-recording-id="${active.id}"] a[download]`);
    const href = await link!.evaluate((a) => (a as HTMLAnchorElement).getAttribute('href')!);
    expect(href).toMatch(new RegExp(`^${listing.url}\\?access_token=`));
    const followed = await fetch(`${bridge.url}${href}`);
    expect([followed.status, Number(followed.headers.get('content-length'))]).toEqual([200, listing.bytes]);
    await followed.body?.cancel();
    expect((await fetch(`${bridge.url}${listing.url}`)).status).toBe(401);
  }, 150_000);

  it('streams to two RTMP destinations at once from Go live; a refused one is reported, a dropped one reconnects, and neither stops the other', async () => {
    const nginx = await NginxRtmp.start();
    try {
      const [alice, bob] = pages as [Page, Page];
      await alice.click('#live-button');
      await alice.waitForSelector('#live-dialog');
      await alice.type('#live-targets', [nginx.url('alpha'), nginx.url(REJECTED_KEY), nginx.url('beta')].join('\n'));
      await alice.click('#live-start');
      await bob.waitForSelector('[data-testid=live-indicator]', { timeout: 45_000 });
      const live = await waitFor('the live stream', async () => (await api.listing()).current.find((r) => !r.file && r.state === 'active'), 10_000, 100);
      const refused = await waitFor('the refused destination reported', async () =>
        (await notices(alice)).find((text) => text.includes('127.0.0.1 refused the stream')), 20_000, 200);
      expect(refused).toMatch(/^Live stream failed: 127\.0\.0\.1 refused the stream/);
      const states = async () => (await api.listing()).current.find((r) => r.id === live.id)!.streams.map((s) => s.state).join();
      await waitFor('alpha and beta live, the refused one failed', async () => (await states()) === 'live,failed,live', 10_000, 100);
      for (const key of ['alpha', 'beta']) {
        await waitFor(`${key} receiving`, () => nginx.recordings(key).some((r) => r.bytes > 200_000), 20_000, 200);
      }

      // The ingest drops alpha (as a service restarting would): everyone is told, and it comes back by itself.
      expect(await nginx.dropPublisher('alpha')).toBe(1);
      const dropped = await waitFor('the drop reported', async () => (await notices(alice)).find((text) => text.includes('dropped the stream')), 10_000, 100);
      expect(dropped).toMatch(/^Live stream: 127\.0\.0\.1 dropped the stream.*; reconnecting$/);
      await waitFor('alpha publishing again', () => nginx.recordings('alpha').length === 2 && nginx.recordings('alpha').every((r) => r.bytes > 200_000), 30_000, 200);
      await waitFor('alpha live again', async () => (await states()) === 'live,failed,live', 10_000, 100);
      await alice.click('#live-button'); // now "Stop live"
      await waitFor('the live indicator to go', async () => !(await bob.$('[data-testid=live-indicator]')), 30_000, 200);
      await nginx.stop(); // closes its recordings
      // Beta never noticed: one unbroken stream. Alpha: before the drop, and after it.
      const received = async (key: string) =>
        Promise.all(nginx.recordings(key).map(async ({ file }) => {
          const probed = await probe(file);
          expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
          return Number(probed.format.duration);
        }));
      const [beta] = await received('beta');
      const alpha = await received('alpha');
      expect(alpha).toHaveLength(2);
      for (const duration of alpha) expect(duration).toBeGreaterThan(1);
      expect(beta).toBeGreaterThan(Math.max(...alpha));
      expect(nginx.recordings(REJECTED_KEY)).toEqual([]);
    } finally {
      await nginx.dispose();
    }
  }, 120_000);

  it('survives kill -9 of ffmpeg, Chromium, Xvfb and pulseaudio in turn: the parts are joined and everyone is told', async () => {
    const recording = await api.start({ file: true });
    await activeNow(recording.id);
    const processes = () =>
      execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
        .split('\n')
        .map((line) => /^\s*(\d+)\s+(.*)$/.exec(line))
        .filter((m) => m !== null)
        .map((m) => ({ pid: Number(m[1]), args: m[2]! }));
    const ffmpegOf = (part: number) => processes().find((p) => p.args.startsWith('/usr/bin/ffmpeg') && p.args.includes(`.part${part}.mp4`));
    const chromium = () => processes().find((p) => p.args.includes(`recorder-${process.pid}-${recording.id}-`) && p.args.includes('--user-data-dir') && !p.args.includes('--type='));

    const first = await waitFor('the capture of part 1', () => ffmpegOf(1), 10_000);
    const part1File = /\](\S+\.part1\.mp4)/.exec(first.args)![1]!;
    // Part 1's length: until 3 s are in the file, however far behind a loaded encoder runs.
    const writtenBeforeKill = await waitFor('3 s of part 1 written', async () => {
      const duration = Number((await probe(part1File)).format.duration);
      return duration >= 3 ? duration : undefined;
    }, 30_000, 250);
    process.kill(first.pid, 'SIGKILL');
    // What was written before the kill is all still there and playable: H.264 and AAC.
    const part1 = await probe(part1File);
    expect(codecs(part1)).toEqual(['audio:aac', 'video:h264']);
    expect(Number(part1.format.duration)).toBeGreaterThanOrEqual(writtenBeforeKill);
    await waitFor('part 2 recording', async () => (await api.listing()).current.find((r) => r.id === recording.id && r.parts === 2 && r.state === 'active'), 15_000, 100);
    await waitFor('a new ffmpeg', () => ffmpegOf(2), 10_000);
    const toldOf = (pattern: RegExp) => waitFor(`a notice matching ${pattern}`, async () => (await notices(pages[0]!)).some((text) => pattern.test(text)), 10_000, 100);
    await toldOf(/^Recording: the capture \(ffmpeg\) died .*recording continues in part 2/);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // part 2's length, not a check
    const browserPid = chromium()!.pid;
    process.kill(browserPid, 'SIGKILL');
    await waitFor('Chromium relaunched', () => (chromium()?.pid ?? browserPid) !== browserPid, 20_000, 50);

    // The display itself (taking Chromium and ffmpeg with it): everything is rebuilt, in part 3. It dies
    // while the relaunched Chromium is still starting and joining (seconds), so that launch fails
    // half-way, as it did in CI, where the recovery then never finished.
    const display = /-i :(\d+)\.0\+0,0/.exec(ffmpegOf(2)!.args)![1];
    const xvfb = execFileSync('ss', ['-xlp'], { encoding: 'utf8' }).split('\n').find((line) => line.includes(`/tmp/.X11-unix/X${display} `) && line.includes('"Xvfb"'));
    process.kill(Number(/pid=(\d+)/.exec(xvfb!)![1]), 'SIGKILL');
    await waitFor('part 3 recording', () => ffmpegOf(3), 60_000, 200); // a failed launch, then the rebuild's own
    await toldOf(/^Recording: the virtual display \(Xvfb\) died .*recording continues in part 3/);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // part 3's length, not a check
    // The audio sink: part 4.
    const pulse = processes().find((p) => p.args.startsWith('pulseaudio') && p.args.includes(`recorder-${process.pid}-${recording.id}-`))!;
    process.kill(pulse.pid, 'SIGKILL');
    await waitFor('part 4 recording', () => ffmpegOf(4), 30_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // part 4's length, not a check
    expect(await api.stop(recording.id)).toBe(204);

    const file = await finishedFile(recording.id);
    // Nothing of it is left running: not the Chromium whose launch failed, nor any of its helpers.
    const leftOver = () => processes().filter((p) => p.args.includes(`recorder-${process.pid}-${recording.id}-`));
    await waitFor('the recording\'s processes to be gone', () => leftOver().length === 0, 10_000, 200).catch(() => {
      throw new Error(`still running: ${leftOver().map((p) => p.args.slice(0, 120)).join('; ')}`);
    });
    expect(file.parts).toBe(4);
    expect(file.errors.join('\n')).toMatch(/the capture \(ffmpeg\) died/);
    expect(file.errors.join('\n')).toMatch(/the browser crashed/);
    const joined = path.join(recorder.dir, room, file.name);
    const probed = await probe(joined);
    expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
    // Every part is in it: about 20 s less what the crashes cost.
    expect(Number(probed.format.duration)).toBeGreaterThan(12);
    // Still while Chromium relaunches (seconds on a loaded machine), moving before and after.
    expect(await motionShare(joined)).toBeGreaterThan(0.25);
    const metadata = recordingResultSchema.parse(JSON.parse(fs.readFileSync(joined.replace(/\.mp4$/, '.json'), 'utf8')));
    expect(metadata.parts.map((p) => p.endedBy)).toEqual([
      expect.stringMatching(/^the capture \(ffmpeg\) died/),
      expect.stringMatching(/^the virtual display \(Xvfb\) died \(killed by SIGKILL\)/),
      expect.stringMatching(/^the audio sink \(pulseaudio\) died \(killed by SIGKILL\)/),
      'stopped',
    ]);
  }, 180_000);

  it('runs two recordings at once on this machine (grid and speaker layouts)', async () => {
    const grid = await api.start({ file: true, layout: 'grid' });
    const speaker = await api.start({ file: true, layout: 'speaker' });
    const capturing = [await activeNow(grid.id), await activeNow(speaker.id)];
    // The length to record, not an assertion: long enough that a few frozen seconds are not most of a
    // file (in one CI run, with 6 s here, a file moved in only 1 of its 7 seconds).
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    for (const { id } of capturing) expect(await api.stop(id)).toBe(204);
    const stoppedAt = Date.now();
    for (const { id, startedAt } of capturing) {
      const file = await finishedFile(id);
      const recorded = path.join(recorder.dir, room, file.name);
      const probed = await probe(recorded);
      expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
      // With both participants' browsers on the same 2 cores the machine is overloaded (see BENCHMARKS.md):
      // the encoders fall behind and lose some time; most of it must still be there.
      expect(Number(probed.format.duration)).toBeGreaterThan(((stoppedAt - startedAt!) / 1000) * 0.6);
      // Two encodes, two recording Chromiums and both participants' browsers share 2 cores: the senders
      // drop frames and layers, and the picture stands still for seconds at a time (in 0.33-1 of the
      // seconds it moved, run alone and in the full suite); a recording of a frozen or empty page scores 0.
      const moved = await motionBySecond(recorded);
      console.log(`recording ${id}: ${probed.format.duration} s, moved in seconds ${moved.map((m) => (m ? 'x' : '.')).join('')}`);
      expect(moved.filter(Boolean).length / moved.length).toBeGreaterThan(0.15);
      expect((await audioVolume(recorded)).max).toBeGreaterThan(-30);
    }
  }, 120_000);
});
