// Renders the README's screenshots (docs/*.png) from a real bridge and real
// browsers with fake cameras: npm run screenshots
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBridge } from '../test/helpers/bridge.ts';
import { clickJoin, joinThroughUi, launchBrowser } from '../test/helpers/browser.ts';
import { startGateway } from '../test/helpers/gateway.ts';
import { freePort } from '../test/helpers/ports.ts';
import { startRecorder } from '../test/helpers/recorder.ts';
import { recordingsApi } from '../test/helpers/recordings.ts';
import { TestRedis } from '../test/helpers/redis.ts';
import { startSipp } from '../test/helpers/sipp.ts';
import { expectAck, expectBye, expectInvite, infoDigit, invite, playAudio, respond, writeScenario } from '../test/helpers/sippScenario.ts';
import { waitFor } from '../test/helpers/wait.ts';

const docs = path.resolve(import.meta.dirname, '../docs');
const redis = await TestRedis.start();
const recordings = fs.mkdtempSync(path.join(os.tmpdir(), 'screenshots-'));
// Dial-out is off until numbers are allowed: the invited phone is a +1 555 number.
const bridge = await startBridge({ MEDIA_WORKERS: '1', DIAL_IN_NUMBERS: '+1 555 0100', DIAL_OUT_ALLOWED_PREFIXES: '+1555', REDIS_URL: redis.url, RECORDINGS_DIR: recordings });
const recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir: recordings });
const trunkPort = await freePort();
const gateway = await startGateway(bridge, { SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort}` });
const browsers = [];
try {
  const pages = [];
  for (const name of ['Maya Patel', 'Jonas Weber', 'Aiko Tanaka', 'Sam Rivera']) {
    const browser = await launchBrowser();
    browsers.push(browser);
    const page = await browser.newPage();
    await joinThroughUi(page, `${bridge.url}/design-review`, name);
    pages.push(page);
  }
  const [maya, jonas, aiko, sam] = pages as [typeof pages[0], typeof pages[0], typeof pages[0], typeof pages[0]];
  await aiko.click('#toggle-camera');
  await sam.click('#toggle-mic');
  await jonas.click('#toggle-hand');
  for (const [page, text] of [[jonas, 'Can everyone see the new onboarding flow?'], [aiko, 'Yes! The second step reads much better now.']] as const) {
    await page.click('#toggle-chat');
    await page.type('#chat-input', text);
    await page.keyboard.press('Enter');
  }
  await maya.click('#toggle-chat');
  await waitFor('chat at Maya', () => maya.$$eval('.chat-text', (t) => t.length === 2));
  await waitFor('tiles at Maya', () => maya.$$eval('[data-testid="tile"] video', (v) => v.length === 3));
  await new Promise((resolve) => setTimeout(resolve, 1500)); // let video frames settle for the picture
  await maya.screenshot({ path: path.join(docs, 'meeting.png') });

  // The participant list with the meeting locked and a phone invited (sipp answers as the trunk).
  const callee = startSipp({
    scenario: writeScenario('callee', [expectInvite('sip:'), respond(180, 'Ringing'), respond(200, 'OK'), expectAck, playAudio, expectBye(60_000)]),
    localPort: trunkPort,
    calls: 1,
    args: ['-mp', String(await freePort())],
  });
  await maya.click('#toggle-participants');
  await maya.click('#lock-button');
  await maya.type('#lock-password', '482913');
  await maya.click('[data-testid=meeting-lock] button[type=submit]');
  await maya.type('#invite-number', '+1 555 010 0199');
  await maya.click('#invite-button');
  await maya.waitForSelector('[data-testid=participant][data-kind=phone]', { timeout: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await maya.screenshot({ path: path.join(docs, 'phone.png') });
  await maya.click('[data-testid=invitation] button[aria-label^="Hang up"]');
  await callee.done;
  await maya.click('[data-testid=meeting-lock] button');

  // Recording: the indicator everyone sees, then the finished file in the Recordings panel,
  // and a frame of the recording itself (the recorder layout).
  await maya.click('#record-button');
  const api = recordingsApi(bridge.url, 'design-review');
  await waitFor('the recording to capture', async () => (await api.listing()).current.some((r) => r.state === 'active'), 45_000, 200);
  await new Promise((resolve) => setTimeout(resolve, 6000)); // the meeting being recorded
  await maya.click('#record-button');
  const file = await waitFor('the recording file', async () => (await api.listing()).files[0], 30_000, 300);
  await maya.click('#toggle-recordings');
  await maya.waitForSelector('[data-testid=recording-file]');
  await maya.screenshot({ path: path.join(docs, 'recording.png') });
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-ss', '4', '-i', path.join(recordings, 'design-review', file.name), '-frames:v', '1', path.join(docs, 'recorder-layout.png')]);

  // The lobby: two browsers and a phone (sipp) knock; the moderator sees them
  // (the badge, the toast, the list) and they wait; denied, the phone is hung up.
  await maya.click('#toggle-participants');
  await maya.click('#lobby-toggle');
  await maya.waitForSelector('[data-testid=lobby][data-enabled=true]');
  const knocking = [];
  for (const name of ['Lena Fischer', 'Omar Haddad']) {
    const page = await browsers[1]!.newPage();
    await clickJoin(page, `${bridge.url}/design-review`, name);
    await page.waitForSelector('[data-testid=waiting-in-lobby]', { timeout: 15_000 });
    knocking.push(page);
  }
  // The caller dials in and types the PIN the meeting shows.
  const pin = await maya.$eval('[data-testid=dial-in-pin]', (el) => el.textContent!);
  const caller = startSipp({
    scenario: writeScenario('knock', [invite(), ...[...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i)), playAudio, expectBye(60_000)]),
    remote: `127.0.0.1:${gateway.sipPort}`,
    localPort: await freePort(),
    calls: 1,
    args: ['-s', '15550100', '-mp', String(await freePort())],
  });
  await waitFor('three knocks at Maya', () => maya.$$eval('[data-testid=knock]', (k) => k.length === 3), 15_000);
  await new Promise((resolve) => setTimeout(resolve, 3000)); // a few seconds of waiting on the clock
  await maya.screenshot({ path: path.join(docs, 'lobby.png') });
  await knocking[0]!.bringToFront(); // a tab in the background is never painted
  await knocking[0]!.screenshot({ path: path.join(docs, 'lobby-waiting.png') });
  await maya.click('#deny-all');
  await caller.done;
  await maya.click('#lobby-toggle');
  for (const page of knocking) await page.close();

  const guest = await browsers[0]!.newPage();
  await guest.goto(`${bridge.url}/design-review`);
  await guest.$eval('#display-name', (el) => ((el as HTMLInputElement).value = ''));
  await guest.type('#display-name', 'Lena Fischer');
  await guest.waitForSelector('#join-button:not([disabled])');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await guest.screenshot({ path: path.join(docs, 'prejoin.png') });
  await guest.goto(bridge.url);
  await guest.screenshot({ path: path.join(docs, 'welcome.png') });
  console.log(`screenshots written to ${docs}`);
} finally {
  for (const browser of browsers) await browser.close();
  await recorder.worker.stop();
  await gateway.gateway.stop();
  await bridge.stop();
  await redis.stop();
  fs.rmSync(recordings, { recursive: true, force: true });
}
