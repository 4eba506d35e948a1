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
//     (key exchange included) in one room, joins alternating. With
//     --baseline <web dist dir> (another build of the web client, e.g. the
//     previous commit's `vite build web`), a third arm: the newcomer's page
//     runs that build with E2EE on, so a change to the client is measured
//     against the code before it in the same run.
//
//   npm run bench:e2ee -- --rounds 3 --seconds 15 --joins 10 [--part cpu|join] [--baseline dir]
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
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
    baseline: { type: 'string' },
  },
});
const BASELINE = values.baseline;
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
 * newcomer alternates between the two (and, with --baseline, the other build with E2EE on).
 */
async function joinLatency(): Promise<void> {
  // Where an E2EE join's time goes, marked when a page hands its worker a request: the newcomer
  // starting E2EE (its join answered), the presenter taking its public key, the presenter's
  // ratcheted key sent (the bridge acknowledged it), the key reaching the newcomer's worker, then
  // the first picture decoded with it. Marks are read as wall-clock times, to compare pages.
  const markWorkerRequests = (marks: Record<string, string>) => {
    const post = Worker.prototype.postMessage as (this: Worker, message: unknown, options?: StructuredSerializeOptions) => void;
    Worker.prototype.postMessage = function (this: Worker, message: unknown, options?: StructuredSerializeOptions) {
      const mark = marks[(message as { op?: string } | null)?.op ?? ''];
      if (mark) performance.mark(mark);
      post.call(this, message, options);
    } as typeof Worker.prototype.postMessage;
  };
  const presenter = await browsers[0]!.newPage();
  await presenter.evaluateOnNewDocument(markWorkerRequests, { addPeer: 'e2ee-add-peer', handedOut: 'e2ee-handed-out' });
  await joinThroughUi(presenter, `${bridge.url}/join`, 'Presenter');
  const joiner = await browsers[1]!.newPage();
  await joiner.evaluateOnNewDocument(markWorkerRequests, { start: 'e2ee-start', setKey: 'e2ee-set-key' });
  // And when its first key message (its public key) goes out on the signaling socket.
  await joiner.evaluateOnNewDocument(() => {
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (this: WebSocket, data: Parameters<WebSocket['send']>[0]) {
      if (typeof data === 'string' && data.includes('"sendE2eeMessage"')) performance.mark('e2ee-public-key-sent');
      send.call(this, data);
    };
  });
  const arms: readonly ('off' | 'on' | 'baseline')[] = BASELINE ? ['off', 'on', 'baseline'] : ['off', 'on'];
  // The baseline arm's newcomer runs the other build's scripts: each of this build's assets is
  // answered with the other build's of the same name (Vite names them name-hash.ext).
  let serveBaseline = false;
  let baselineServed = 0;
  if (BASELINE) {
    const assets = path.join(BASELINE, 'assets');
    const baselineAsset = new Map(readdirSync(assets).map((file) => [file.replace(/-[\w-]+\./, '.'), path.join(assets, file)]));
    await joiner.setRequestInterception(true);
    joiner.on('request', (request) => {
      const { pathname } = new URL(request.url());
      const file = pathname.startsWith('/assets/') ? baselineAsset.get(path.basename(pathname).replace(/-[\w-]+\./, '.')) : undefined;
      if (!serveBaseline || !file) return void request.continue();
      const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/json';
      baselineServed++;
      void request.respond({ status: 200, contentType: type, body: readFileSync(file) });
    });
  }
  type Split = { start: number; sent: number; atPresenter: number; answered: number; key: number; picture: number };
  const splits: Record<'on' | 'baseline', Split[]> = { on: [], baseline: [] };
  const joins: Record<'off' | 'on' | 'baseline', number[]> = { off: [], on: [], baseline: [] };
  const wallClockMark = (page: Page, name: string, after: number) =>
    page.evaluate(
      (name, after) => performance.getEntriesByName(name).map((m) => performance.timeOrigin + m.startTime).find((t) => t >= after) ?? null,
      name,
      after,
    );
  for (let i = 0; i < JOINS; i++) {
    for (const state of arms) {
      const on = state !== 'off';
      await presenter.evaluate((on) => window.conference!.setE2ee(on), on);
      await waitFor(`E2EE ${state}`, () => presenter.evaluate((on) => window.conference!.e2ee.value === on, on), 10_000, 50);
      serveBaseline = state === 'baseline';
      await openJoinForm(joiner, `${bridge.url}/join`, `Joiner ${i + 1}`);
      const ms = await timeJoin(joiner);
      console.log(`join ${i + 1} ${state}: ${ms.toFixed(0)} ms`);
      joins[state].push(ms);
      if (state !== 'off') {
        const click = (await joiner.evaluate(() => performance.timeOrigin + performance.getEntriesByName('join-click')[0]!.startTime))!;
        const [start, sent, atPresenter, answered, key] = await Promise.all([
          wallClockMark(joiner, 'e2ee-start', click),
          wallClockMark(joiner, 'e2ee-public-key-sent', click),
          wallClockMark(presenter, 'e2ee-add-peer', click),
          wallClockMark(presenter, 'e2ee-handed-out', click),
          wallClockMark(joiner, 'e2ee-set-key', click),
        ]);
        if (start !== null && sent !== null && atPresenter !== null && answered !== null && key !== null) {
          splits[state].push({ start: start - click, sent: sent - click, atPresenter: atPresenter - click, answered: answered - click, key: key - click, picture: ms });
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

  const p = (xs: number[], q: number) => percentile(xs, q).toFixed(0);
  const row = (name: string, xs: number[]) => `${name.padEnd(16)} p50 ${p(xs, 50).padStart(5)} ms   p95 ${p(xs, 95).padStart(5)} ms`;
  const names = { off: 'E2EE off', on: 'E2EE on', baseline: 'E2EE on, baseline' };
  console.log(`\njoin -> first decoded remote frame, ${JOINS} joins each, alternating`);
  for (const state of arms) console.log(row(names[state], joins[state]));
  const encrypted = arms.filter((s): s is 'on' | 'baseline' => s !== 'off');
  for (const state of encrypted) {
    const xs = joins[state];
    console.log(`${names[state]} - off: p50 ${(percentile(xs, 50) - percentile(joins.off, 50)).toFixed(0)} ms; p95 ${(percentile(xs, 95) - percentile(joins.off, 95)).toFixed(0)} ms`);
  }
  if (BASELINE) console.log(`baseline arm: ${baselineServed} of its assets served from ${BASELINE}`);
  for (const state of arms) console.log(`samples (ms), ${names[state]}: ${joins[state].map((x) => x.toFixed(0)).join(' ')}`);
  for (const state of encrypted) {
    const xs = splits[state];
    const step = (f: (s: Split) => number) => `p50 ${p(xs.map(f), 50)} / p95 ${p(xs.map(f), 95)}`;
    console.log(
      `${names[state]}, ${xs.length} joins timed (ms): E2EE started (join answered) ${step((s) => s.start)} after Join; ` +
        `our public key sent ${step((s) => s.sent - s.start)} after that; at the presenter ${step((s) => s.atPresenter - s.sent)} after that; its answer sent ${step((s) => s.answered - s.atPresenter)} after that; ` +
        `its key in our worker ${step((s) => s.key)} after Join; the first picture ${step((s) => s.picture - s.key)} after the key`,
    );
    console.log(`  per join (start, sent, at presenter, answered, key, picture; from Join): ${xs.map((s) => [s.start, s.sent, s.atPresenter, s.answered, s.key, s.picture].map((x) => x.toFixed(0)).join('/')).join(' ')}`);
  }
}
