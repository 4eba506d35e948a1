// Mouth-to-ear across a cascade hop (issue 17): the same tone bursts heard by
// a browser on the room's home bridge and by one on a satellite, side by side
// in one run.
//
// Two bridges (bridge/main.ts on test hosts of their own, regions a and b,
// MEDIA_WORKERS=1) and a redis-server, as BridgeFleet starts them.
// Headless Chromiums on this machine's side of their network (one each, not
// tabs of one: a background tab is throttled): one joins through A, the
// room's home; one through B with region b, so B serves it as A's
// satellite. A plain-RTP `phone` peer on A (this
// process: a UDP socket sending PCMU in 20 ms frames, silence with a 100 ms
// tone burst every second) is heard by both pages, each finding every
// burst's onset in that peer's audio with an AudioWorklet, stamped on the
// wall clock; the phone stamps each burst's first packet as it sends it.
// Per burst: send -> onset on A (one bridge), send -> onset on B (two), and
// their difference, the hop as a listener hears it (jitter buffer included).
// A third Chromium, also on A, is the control: its difference from the first
// is what two listeners on one bridge differ by (each jitter buffer settles
// on its own), the noise the hop's figure stands on.
//
// Each page's jitter buffer settles each new stream at its own delay, so the
// run is several sessions, each with a new phone peer, and the bursts of all
// sessions are pooled. The network is namespaces on one machine (no wire).
//
//   npm run bench:cascade-m2e -- --sessions 4 --bursts 8
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { createLogger } from '../common/logger.ts';
import { FRAME_SAMPLES } from '../media/codecs.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { BridgeFleet } from '../test/helpers/bridgeFleet.ts';
import { joinThroughUi, launchBrowser } from '../test/helpers/browser.ts';
import { joinRoom } from '../test/helpers/signaling.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { percentile } from './lib/stats.ts';
import { burstFrames, latencies, listenForOnsets, PcmuStream, produceDirect, type Latencies } from './lib/toneBursts.ts';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '4' },
    /** Measured bursts per session. */
    bursts: { type: 'string', default: '8' },
  },
});
const SESSIONS = Number(values.sessions);
const BURSTS = Number(values.bursts);
const WARMUP_BURSTS = 5; // the browsers' jitter buffers settle on a new stream
const ROOM = 'cascade-m2e';
const CYCLE_TICKS = 50; // one burst a second
const BRIDGES = ['a', 'b'] as const;

const logger = createLogger('warn', 'bench');
const fleet = await BridgeFleet.start({ id: 'cm2e', subnet: '198.18.34', names: BRIDGES, env: (name) => ({ BRIDGE_REGION: name, MEDIA_WORKERS: '1' }) });
const here = fleet.network.runnerAddress;
const origins = BRIDGES.map((name) => fleet.httpUrl(name)).join(',');
// Plain-HTTP origins on another host: treated as secure, so the pages may join as they would over HTTPS.
const EARS = [
  { name: 'Ear on A', through: 'a' },
  { name: 'Ear on B', through: 'b' },
  { name: 'Second ear on A', through: 'a' },
] as const;
type Ears = Record<'a' | 'b' | 'a2', Page>;
// Listeners only: no camera or microphone (three browsers sending and decoding video overload two
// cores, and their jitter buffers grow to hundreds of ms).
const browsers = await Promise.all(EARS.map(() => launchBrowser({ mediaPermission: 'deny', args: [`--unsafely-treat-insecure-origin-as-secure=${origins}`] })));
const clock = new MediaClock((error) => logger.error({ err: error }, 'send tick failed'));

/** The bridge whose origin a page is on. */
const bridgeOf = (page: Page) => fleet.bridgeAt(page.url());

/** One session: a new phone peer on A sending bursts; resolves with each measured burst's latency on each page. */
async function session(pages: Ears): Promise<Record<keyof Ears, Latencies>> {
  const stream = new PcmuStream(true);
  const phone = await joinRoom(fleet.httpUrl('a'), ROOM, 'Mouth', 'phone');
  const phoneId = phone.joined.peerId;
  let stop: (() => void) | undefined;
  try {
    if (fleet.bridgeAt(phone.client.url) !== 'a') throw new Error('the phone peer was not served by A, the home');
    await produceDirect(phone, stream, here);
    const silence = new Int16Array(FRAME_SAMPLES);
    const burst = burstFrames();
    let tick = 0;
    stop = clock.add(() => {
      const at = tick++ % CYCLE_TICKS;
      stream.send(burst[at] ?? silence, at === 0);
    });
    for (const page of Object.values(pages)) {
      await page.waitForFunction((id) => [...window.conference!.remoteMedia.value.values()].some((m) => m.peerId === id && m.source === 'mic'), { timeout: 20_000 }, phoneId);
      await listenForOnsets(page, [phoneId]);
    }
    const sentBefore = stream.burstsSent.length;
    const wanted = sentBefore + WARMUP_BURSTS + BURSTS + 1; // the last one may still be in flight
    await waitFor('the bursts to be sent', () => stream.burstsSent.length >= wanted, (WARMUP_BURSTS + BURSTS + 5) * 1000);
    stop();
    const measured = async (page: Page) => {
      const heard = (await page.evaluate(() => window.onsets))!;
      return latencies(stream.burstsSent.slice(sentBefore), heard[phoneId]!).slice(WARMUP_BURSTS, WARMUP_BURSTS + BURSTS);
    };
    return { a: await measured(pages.a), b: await measured(pages.b), a2: await measured(pages.a2) };
  } finally {
    stop?.();
    stream.socket.close();
    phone.client.close();
    for (const page of Object.values(pages)) {
      await page.waitForFunction((id) => !window.conference!.participants.value.has(id), { timeout: 10_000 }, phoneId);
    }
  }
}

function report({ a, b, a2 }: Record<keyof Ears, Latencies>): void {
  const heardOnly = (xs: Latencies) => xs.filter((x): x is number => x !== undefined);
  const row = (name: string, xs: number[], of: number) =>
    `${name.padEnd(34)} ${String(xs.length).padStart(3)}/${of}  p50 ${percentile(xs, 50).toFixed(1).padStart(6)}  p95 ${percentile(xs, 95).toFixed(1).padStart(6)}  max ${Math.max(...xs).toFixed(1).padStart(6)}`;
  const minus = (xs: Latencies, ys: Latencies) => xs.flatMap((x, i) => (x !== undefined && ys[i] !== undefined ? [x - ys[i]] : []));
  const [hop, control] = [minus(b, a), minus(a2, a)];
  const [one, two] = [heardOnly(a), heardOnly(b)];
  console.log(`\nmouth-to-ear across a cascade hop: PCMU tone bursts from a phone peer on A -> onset in a browser's WebAudio graph, ms (${SESSIONS} sessions x ${BURSTS} bursts)\n`);
  console.log(row('one bridge: phone -> A -> page', one, a.length));
  console.log(row('two bridges: phone -> A -> B -> page', two, b.length));
  console.log(row('the hop, per burst (B - A)', hop, hop.length));
  console.log(row('control, per burst (second A - A)', control, control.length));
  console.log(`\ntwo bridges vs one: p50 +${(percentile(two, 50) - percentile(one, 50)).toFixed(1)} ms (x${(percentile(two, 50) / percentile(one, 50)).toFixed(2)}), p95 +${(percentile(two, 95) - percentile(one, 95)).toFixed(1)} ms`);
}

try {
  const pages: Page[] = [];
  for (const [i, ear] of EARS.entries()) {
    const page = await browsers[i]!.newPage();
    // The bench's onset detector is a worklet from a blob: URL, which the product's CSP (script-src 'self') refuses.
    await page.setBypassCSP(true);
    await joinThroughUi(page, `${fleet.httpUrl(ear.through)}/${ROOM}?audioProcessing=off&region=${ear.through}`, ear.name);
    if (bridgeOf(page) !== ear.through) throw new Error(`${ear.name} is on ${bridgeOf(page)}`);
    if ((await fleet.homeOf(ROOM)) !== 'a') throw new Error('the room was not placed on A, the bridge it was opened through');
    pages.push(page);
  }
  const ears: Ears = { a: pages[0]!, b: pages[1]!, a2: pages[2]! };
  const all: Record<keyof Ears, Latencies> = { a: [], b: [], a2: [] };
  for (let i = 0; i < SESSIONS; i++) {
    const result = await session(ears);
    for (const ear of ['a', 'b', 'a2'] as const) all[ear].push(...result[ear]);
    const ms = (xs: Latencies) => xs.map((x) => x?.toFixed(0) ?? '-').join(' ');
    console.log(`session ${i + 1} (ms): one bridge ${ms(result.a)}; two bridges ${ms(result.b)}; second ear on A ${ms(result.a2)}`);
  }
  report(all);
} finally {
  clock.stop();
  for (const browser of browsers) await browser.close();
  await fleet.stop();
}
process.exit(0);
