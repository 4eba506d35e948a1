// What end-to-end encryption costs the browsers, through the real UI and
// bridge, side by side in one run:
//  1. CPU: three headless Chromium, each sending its fake 720p camera as
//     three simulcast layers and receiving the other two, measured over the
//     same window in three arms taken in turn, round after round:
//       - plain:        no encoded transform at all (a browser without the API),
//       - pass-through: the transforms attached (as every capable browser has
//                       them) with E2EE off, frames handed to the worker and back,
//       - E2EE on:      every frame encrypted and decrypted in the worker.
//     CPU is the three browsers' process trees (/proc), per second and per
//     frame (encoded + decoded), since a loaded machine may drop frames.
//  2. Join -> first decoded remote frame for a newcomer, with E2EE off and on
//     (key exchange included) in one room, joins alternating.
//
//   npm run bench:e2ee -- --rounds 3 --seconds 15 --joins 10 [--part cpu|join]
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { startBridge } from '../test/helpers/bridge.ts';
import { joinThroughUi, keepPeerConnections, launchBrowser, openJoinForm, videoRtpStats } from '../test/helpers/browser.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { timeJoin } from './lib/joinTiming.ts';
import { cpuSeconds, descendantPids } from './lib/procStat.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '15' },
    joins: { type: 'string', default: '10' },
    part: { type: 'string', default: 'all' },
  },
});
const PART = values.part;
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const JOINS = Number(values.joins);

type Arm = 'plain' | 'pass-through' | 'E2EE on';
const ARMS: Arm[] = ['plain', 'pass-through', 'E2EE on'];

function treeCpuSeconds(browsers: readonly Browser[]): number {
  let total = 0;
  for (const browser of browsers) {
    for (const pid of descendantPids(browser.process()!.pid!)) {
      try {
        total += cpuSeconds(pid);
      } catch {
        // exited meanwhile
      }
    }
  }
  return total;
}

/** Frames this page encoded (its camera's layers) plus frames it decoded (everyone else's cameras). */
async function framesOf(page: Page): Promise<number> {
  return (await videoRtpStats(page)).reduce((sum, s) => sum + (s.framesEncoded ?? 0) + (s.framesDecoded ?? 0), 0);
}

const bridge = await startBridge({ MEDIA_WORKERS: '1' });
const browsers = await Promise.all([0, 1, 2].map(() => launchBrowser()));
const cpu: Record<Arm, number[]> = { plain: [], 'pass-through': [], 'E2EE on': [] };
const perFrame: Record<Arm, number[]> = { plain: [], 'pass-through': [], 'E2EE on': [] };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
try {
  for (let round = 1; PART !== 'join' && round <= ROUNDS; round++) {
    for (const arm of ARMS) {
      const room = `cpu-${round}-${arm.replace(/\W/g, '')}`;
      const pages: Page[] = [];
      for (const [i, browser] of browsers.entries()) {
        const page = await browser.newPage();
        await keepPeerConnections(page);
        if (arm === 'plain') await page.evaluateOnNewDocument(() => delete (window as { RTCRtpScriptTransform?: unknown }).RTCRtpScriptTransform);
        await joinThroughUi(page, `${bridge.url}/${room}`, `Sender ${i + 1}`);
        pages.push(page);
      }
      if (arm === 'E2EE on') {
        await pages[0]!.evaluate(() => window.conference!.setE2ee(true));
        await waitFor('everyone encrypting', async () =>
          (await Promise.all(pages.map((p) => p.evaluate(() => [...window.conference!.participants.value.values()].every((x) => x.encrypting))))).every(Boolean),
        20_000, 250);
      }
      // Each decodes both others before the window opens, then 3 s to settle.
      await waitFor(`${arm}: everyone decoding`, async () => (await Promise.all(pages.map(framesOf))).every((f) => f > 100), 30_000, 250);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const cpuBefore = treeCpuSeconds(browsers);
      const framesBefore = (await Promise.all(pages.map(framesOf))).reduce((a, b) => a + b, 0);
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
      const used = treeCpuSeconds(browsers) - cpuBefore;
      const frames = (await Promise.all(pages.map(framesOf))).reduce((a, b) => a + b, 0) - framesBefore;
      const elapsed = (performance.now() - started) / 1000;
      cpu[arm].push(used / elapsed);
      perFrame[arm].push((used * 1000) / frames);
      console.log(`round ${round} ${arm.padEnd(12)} ${(used / elapsed).toFixed(2)} cores, ${(frames / elapsed).toFixed(0)} frames/s, ${((used * 1000) / frames).toFixed(2)} ms CPU per frame`);
      for (const page of pages) await page.close();
      await waitFor('the room empty', () => !bridge.registry.get(room), 10_000);
    }
  }

  if (PART !== 'join') {
    console.log(`\nbrowser CPU, 3 Chromium sending 720p simulcast, ${ROUNDS} rounds of ${SECONDS} s per arm (cores used, mean of rounds)`);
    for (const arm of ARMS) {
      console.log(
        `${arm.padEnd(14)} ${mean(cpu[arm]).toFixed(2)} cores  x${(mean(cpu[arm]) / mean(cpu.plain)).toFixed(3)}   ` +
          `${mean(perFrame[arm]).toFixed(2)} ms CPU per frame  x${(mean(perFrame[arm]) / mean(perFrame.plain)).toFixed(3)}`,
      );
    }
    console.log(
      `E2EE on against pass-through (E2EE off): cores x${(mean(cpu['E2EE on']) / mean(cpu['pass-through'])).toFixed(3)}, ` +
        `per frame x${(mean(perFrame['E2EE on']) / mean(perFrame['pass-through'])).toFixed(3)}`,
    );
  }
  if (PART !== 'cpu') await joinLatency();
} finally {
  for (const browser of browsers) await browser.close();
  await bridge.stop();
}

/**
 * Join latency: one presenter, whose moderator turns E2EE on and off between
 * joins, so both arms meet the same presenter under the same load; the
 * newcomer alternates between the two.
 */
async function joinLatency(): Promise<void> {
  const presenter = await browsers[0]!.newPage();
  await joinThroughUi(presenter, `${bridge.url}/join`, 'Presenter');
  const joiner = await browsers[1]!.newPage();
  // Where an E2EE join's time goes: the presenter's key reaching the newcomer's worker (marked
  // when the page hands it over), then the first picture decoded with it.
  await joiner.evaluateOnNewDocument(() => {
    const post = Worker.prototype.postMessage as (this: Worker, message: unknown, options?: StructuredSerializeOptions) => void;
    Worker.prototype.postMessage = function (this: Worker, message: unknown, options?: StructuredSerializeOptions) {
      if ((message as { op?: string } | null)?.op === 'setKey') performance.mark('e2ee-set-key');
      post.call(this, message, options);
    } as typeof Worker.prototype.postMessage;
  });
  const keyAfter: number[] = [];
  const frameAfterKey: number[] = [];
  const joins: Record<'off' | 'on', number[]> = { off: [], on: [] };
  for (let i = 0; i < JOINS; i++) {
    for (const state of ['off', 'on'] as const) {
      await presenter.evaluate((on) => window.conference!.setE2ee(on), state === 'on');
      await waitFor(`E2EE ${state}`, () => presenter.evaluate((on) => window.conference!.e2ee.value === on, state === 'on'), 10_000, 50);
      await openJoinForm(joiner, `${bridge.url}/join`, `Joiner ${i + 1}`);
      const ms = await timeJoin(joiner);
      joins[state].push(ms);
      if (state === 'on') {
        const key = await joiner.evaluate(() => {
          const [click] = performance.getEntriesByName('join-click');
          const [setKey] = performance.getEntriesByName('e2ee-set-key');
          return click && setKey ? setKey.startTime - click.startTime : null;
        });
        if (key !== null) {
          keyAfter.push(key);
          frameAfterKey.push(ms - key);
        }
      }
      await joiner.click('#leave');
      await joiner.waitForSelector('.end-screen', { timeout: 10_000 }).catch(async () => {
        const file = `/tmp/e2ee-bench-leave-${i + 1}-${state}.png`;
        await joiner.screenshot({ path: file });
        const notices = await joiner.evaluate(() => JSON.stringify(window.conference?.notices.value ?? null));
        console.log(`join ${i + 1} (${state}): no end screen after Leave (${file}; notices ${notices})`);
        await joiner.evaluate(() => window.conference?.leave());
      });
      await waitFor('the joiner gone', () => bridge.registry.get('join')!.visiblePeers().length === 1, 10_000, 50);
    }
  }

  const row = (name: string, xs: number[]) => `${name.padEnd(10)} p50 ${percentile(xs, 50).toFixed(0).padStart(5)} ms   p95 ${percentile(xs, 95).toFixed(0).padStart(5)} ms`;
  console.log(`\njoin -> first decoded remote frame, ${JOINS} joins each, alternating`);
  console.log(row('E2EE off', joins.off));
  console.log(row('E2EE on', joins.on));
  console.log(`p50 on - off: ${(percentile(joins.on, 50) - percentile(joins.off, 50)).toFixed(0)} ms; p95 on - off: ${(percentile(joins.on, 95) - percentile(joins.off, 95)).toFixed(0)} ms`);
  console.log(`samples (ms): off ${joins.off.map((x) => x.toFixed(0)).join(' ')}; on ${joins.on.map((x) => x.toFixed(0)).join(' ')}`);
  console.log(`E2EE on, ${keyAfter.length} joins: the presenter's key in the worker p50 ${percentile(keyAfter, 50).toFixed(0)} / p95 ${percentile(keyAfter, 95).toFixed(0)} ms after Join; the first picture p50 ${percentile(frameAfterKey, 50).toFixed(0)} / p95 ${percentile(frameAfterKey, 95).toFixed(0)} ms after that`);
  console.log(`  per join (key, then picture): ${keyAfter.map((k, i) => `${k.toFixed(0)}+${frameAfterKey[i]!.toFixed(0)}`).join(' ')}`);
}
