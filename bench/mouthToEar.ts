// Mouth-to-ear latency from a phone to a browser, and what the SIP gateway
// adds to it. A phone (a UDP socket sending PCMU in 20 ms frames: silence with
// a short tone burst every second) calls the gateway straight into a room; a
// headless Chromium in the room finds each burst's onset in that participant's
// audio with an AudioWorklet and stamps it on the wall clock. The phone stamps
// the burst's first packet as it sends it (same machine, same clock).
//
// Side by side, bursts alternating half a second apart: the same packets sent
// straight to the bridge by a plain-RTP `phone` peer (no gateway), heard by
// the same browser. The difference is the gateway's share.
//
// The browser's jitter buffer settles each new stream at its own delay (a few
// ms apart), so the run is several sessions, each with a new call and a new
// direct producer, and the bursts of all sessions are pooled.
//
//   npm run bench:m2e -- --sessions 4 --bursts 6
import { parseArgs } from 'node:util';
import type Srf from 'drachtio-srf';
import type { Page } from 'puppeteer-core';
import type { Bridge } from '../bridge/Bridge.ts';
import { createLogger } from '../common/logger.ts';
import { FRAME_SAMPLES } from '../media/codecs.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { readRemoteAudio } from '../gateway/media/sdp.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../test/helpers/browser.ts';
import { startGateway, type TestGateway } from '../test/helpers/gateway.ts';
import { joinRoom } from '../test/helpers/signaling.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { pcmuSdp, startSrfApp, type SrfApp } from '../test/helpers/srfApp.ts';
import { percentile } from './lib/stats.ts';
import { burstFrames, latencies, listenForOnsets, PcmuStream, produceDirect, type Latencies } from './lib/toneBursts.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '4' },
    /** Measured bursts per path and session. */
    bursts: { type: 'string', default: '6' },
  },
});
const SESSIONS = Number(values.sessions);
const BURSTS = Number(values.bursts);
const WARMUP_BURSTS = 5; // the browser's jitter buffer settles on a new stream
const ROOM = 'mouth-to-ear';
const CYCLE_TICKS = 50; // one burst per path per second

interface Rig {
  bridge: Bridge;
  gw: TestGateway;
  phoneApp: SrfApp;
  page: Page;
  clock: MediaClock;
}

/** The phone calls the gateway straight into the room; its RTP goes where the answer says. */
async function dialGateway(phoneApp: SrfApp, gw: TestGateway, stream: PcmuStream): Promise<Srf.Dialog> {
  const call = await phoneApp.srf.createUAC(gw.uri(ROOM), { localSdp: pcmuSdp(await stream.bind()) });
  const answer = readRemoteAudio(call.remote.sdp, ['PCMU']);
  stream.sendTo({ ip: answer.address, port: answer.port });
  return call;
}

/** Both streams send every 20 ms from one clock; each gets a burst per cycle, half a cycle apart. Returns stop. */
function sendBursts(clock: MediaClock, first: PcmuStream, second: PcmuStream): () => void {
  const silence = new Int16Array(FRAME_SAMPLES);
  const burst = burstFrames();
  let tick = 0;
  return clock.add(() => {
    const at = tick++ % CYCLE_TICKS;
    const frame = (offset: number) => burst[at - offset] ?? silence;
    first.send(frame(0), at === 0);
    second.send(frame(CYCLE_TICKS / 2), at === CYCLE_TICKS / 2);
  });
}

/** A new call and a new direct producer, both sending bursts; resolves with each burst's latency on both paths. */
async function session({ bridge, gw, phoneApp, page, clock }: Rig): Promise<{ gateway: Latencies; direct: Latencies }> {
  const viaGateway = new PcmuStream(false); // a phone sends no audio level; the gateway adds one
  const direct = new PcmuStream(true); // what the gateway forwards, minus the gateway
  const directPeer = await joinRoom(bridge.url, ROOM, 'Direct RTP', 'phone');
  const directId = directPeer.joined.peerId;
  let stop: (() => void) | undefined;
  let call: Srf.Dialog | undefined;
  try {
    call = await dialGateway(phoneApp, gw, viaGateway);
    await produceDirect(directPeer, direct);
    stop = sendBursts(clock, viaGateway, direct);
    const gatewayId = await waitFor('the caller in the room', () =>
      bridge.registry.get(ROOM)?.visiblePeers().find((p) => p.kind === 'phone' && p.id !== directId)?.id,
    );
    await page.waitForFunction(
      (ids) => ids.every((id) => [...window.conference!.remoteMedia.value.values()].some((m) => m.peerId === id && m.source === 'mic')),
      {},
      [gatewayId, directId],
    );
    await listenForOnsets(page, [gatewayId, directId]);
    const sentBefore = viaGateway.burstsSent.length;
    const wanted = sentBefore + WARMUP_BURSTS + BURSTS + 1; // the last one may still be in flight
    await waitFor('the bursts to be sent', () => viaGateway.burstsSent.length >= wanted, (WARMUP_BURSTS + BURSTS + 5) * 1000);
    stop();
    const heard = (await page.evaluate(() => window.onsets))!;
    // Only bursts sent after the detectors started, less the warm-up.
    const measured = (stream: PcmuStream, peerId: string) =>
      latencies(stream.burstsSent.slice(sentBefore), heard[peerId]!).slice(WARMUP_BURSTS, WARMUP_BURSTS + BURSTS);
    return { gateway: measured(viaGateway, gatewayId), direct: measured(direct, directId) };
  } finally {
    stop?.();
    // Hung up here, failed session or not: the wait below then ends, and a failed session's own error is the one thrown.
    call?.destroy();
    viaGateway.socket.close();
    direct.socket.close();
    directPeer.client.close();
    // The next session finds its caller as the only other phone in the room.
    await waitFor('both phones gone', () => !bridge.registry.get(ROOM)?.visiblePeers().some((p) => p.kind === 'phone'));
  }
}

function report(gatewayMs: Latencies, directMs: Latencies): void {
  const heardOnly = (xs: Latencies) => xs.filter((x): x is number => x !== undefined);
  const [g, d] = [heardOnly(gatewayMs), heardOnly(directMs)];
  const row = (name: string, xs: number[], of: number) =>
    `${name.padEnd(24)} ${String(xs.length).padStart(3)}/${of}  p50 ${percentile(xs, 50).toFixed(1).padStart(6)}  p95 ${percentile(xs, 95).toFixed(1).padStart(6)}  max ${Math.max(...xs).toFixed(1).padStart(6)}`;
  console.log(`mouth-to-ear, PCMU tone bursts -> onset in the browser's WebAudio graph, ms (${SESSIONS} sessions x ${BURSTS} bursts per path, alternating)\n`);
  console.log(row('phone -> gateway -> SFU', g, gatewayMs.length));
  console.log(row('RTP -> SFU (direct)', d, directMs.length));
  const paired = gatewayMs.flatMap((x, i) => (x !== undefined && directMs[i] !== undefined ? [x - directMs[i]] : []));
  console.log(
    `\nadded by the gateway: p50 ${(percentile(g, 50) - percentile(d, 50)).toFixed(1)} ms, p95 ${(percentile(g, 95) - percentile(d, 95)).toFixed(1)} ms; median of per-burst differences ${percentile(paired, 50).toFixed(1)} ms`,
  );
}

const logger = createLogger('warn', 'bench');
const bridge = await startBridge({ MEDIA_WORKERS: '1' });
const gw = await startGateway(bridge);
const phoneApp = await startSrfApp(logger);
const browser = await launchBrowser();
const clock = new MediaClock((error) => logger.error({ err: error }, 'send tick failed'));
try {
  const page = await browser.newPage();
  // The bench's onset detector is a worklet from a blob: URL, which the product's CSP (script-src 'self') refuses.
  await page.setBypassCSP(true);
  await joinThroughUi(page, `${bridge.url}/${ROOM}?audioProcessing=off`, 'Listener');
  const gatewayMs: Latencies = [];
  const directMs: Latencies = [];
  for (let i = 0; i < SESSIONS; i++) {
    const result = await session({ bridge, gw, phoneApp, page, clock });
    gatewayMs.push(...result.gateway);
    directMs.push(...result.direct);
    const ms = (xs: Latencies) => xs.map((x) => x?.toFixed(0) ?? '-').join(' ');
    console.log(`session ${i + 1} (ms): gateway ${ms(result.gateway)}; direct ${ms(result.direct)}`);
  }
  console.log();
  report(gatewayMs, directMs);
} finally {
  clock.stop();
  await browser.close();
  await phoneApp.close();
  await gw.gateway.stop();
  await bridge.stop();
}
