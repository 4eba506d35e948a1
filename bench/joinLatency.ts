// Browser join -> first remote video frame, through the real UI and bridge,
// against a baseline measured side by side in the same browser: two
// RTCPeerConnections wired directly to each other (no server, no signaling),
// from creating the offer to the first decoded frame.
//
//   npm run bench:join -- --joins 10
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { startBridge } from '../test/helpers/bridge.ts';
import { joinThroughUi, launchBrowser, openJoinForm } from '../test/helpers/browser.ts';
import { timeJoin } from './lib/joinTiming.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '10' } } });
const JOINS = Number(values.joins);

/** Two peer connections in one page, connected directly: offer -> first decoded frame. */
function timeDirectLoopback(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    document.body.append(video);
    const start = performance.now();
    const a = new RTCPeerConnection();
    const b = new RTCPeerConnection();
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
    b.ontrack = (e) => (video.srcObject = e.streams[0] ?? new MediaStream([e.track]));
    for (const track of stream.getTracks()) a.addTrack(track, stream);
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription!);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (video.readyState >= 2 && video.videoWidth > 0) {
          clearInterval(poll);
          resolve();
        }
      }, 2);
    });
    const elapsed = performance.now() - start;
    a.close();
    b.close();
    for (const track of stream.getTracks()) track.stop();
    video.remove();
    return elapsed;
  });
}

const bridge = await startBridge({ MEDIA_WORKERS: '1' });
const presenterBrowser = await launchBrowser();
const joinerBrowser = await launchBrowser();
try {
  await joinThroughUi(await presenterBrowser.newPage(), `${bridge.url}/latency`, 'Presenter');
  const page = await joinerBrowser.newPage();
  const sfu: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < JOINS; i++) {
    // Alternate the two measurements so both see the same machine load.
    await page.goto(`${bridge.url}/`);
    direct.push(await timeDirectLoopback(page));
    await openJoinForm(page, `${bridge.url}/latency`, `Joiner ${i + 1}`);
    sfu.push(await timeJoin(page));
    await page.click('#leave');
    await page.waitForSelector('.end-screen');
  }
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(34)} p50 ${percentile(xs, 50).toFixed(0).padStart(5)} ms   p95 ${percentile(xs, 95).toFixed(0).padStart(5)} ms   max ${Math.max(...xs).toFixed(0).padStart(5)} ms`;
  console.log(`join -> first remote video frame, ${JOINS} joins on loopback\n`);
  console.log(row('bridge (click Join -> first frame)', sfu));
  console.log(row('direct RTCPeerConnection pair', direct));
  console.log(`\nratio bridge / direct: p50 x${(percentile(sfu, 50) / percentile(direct, 50)).toFixed(2)}, p95 x${(percentile(sfu, 95) / percentile(direct, 95)).toFixed(2)}`);
  console.log(`samples (ms): bridge ${sfu.map((x) => x.toFixed(0)).join(' ')}; direct ${direct.map((x) => x.toFixed(0)).join(' ')}`);
} finally {
  await presenterBrowser.close();
  await joinerBrowser.close();
  await bridge.stop();
}
