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
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import type Srf from 'drachtio-srf';
import type { Page } from 'puppeteer-core';
import type { Bridge } from '../bridge/Bridge.ts';
import { createLogger } from '../common/logger.ts';
import { CODECS, createCodec, FRAME_SAMPLES, levelDbov, MIX_RATE } from '../media/codecs.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { AUDIO_LEVEL_EXTENSION_ID, AUDIO_LEVEL_URI, audioLevelExtension, rtpPacket } from '../media/rtp.ts';
import { readRemoteAudio } from '../gateway/media/sdp.ts';
import { startBridge } from '../test/helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../test/helpers/browser.ts';
import { startGateway, type TestGateway } from '../test/helpers/gateway.ts';
import { joinRoom } from '../test/helpers/signaling.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { pcmuSdp, startSrfApp, type SrfApp } from '../test/helpers/srfApp.ts';
import { percentile, wallClockMs } from './lib/stats.ts';

declare global {
  interface Window {
    /** Wall-clock onsets heard in the page, by peer id. */
    onsets?: Record<string, number[]>;
    onsetContext?: AudioContext;
  }
}

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
const BURST_TICKS = 5; // 100 ms of tone
const TONE_HZ = 1000;
const PCMU = createCodec('PCMU');

/**
 * Runs in the page's audio thread: an onset is a sample above the threshold
 * after 200 ms below it (the tone peaks near 0.24 of full scale).
 */
const ONSET_PROCESSOR = `
registerProcessor('onset', class extends AudioWorkletProcessor {
  quiet = 0;
  process([input]) {
    const samples = input && input[0];
    if (samples) for (const x of samples) {
      if (Math.abs(x) < 0.05) { this.quiet++; continue; }
      if (this.quiet >= 0.2 * sampleRate) this.port.postMessage(0);
      this.quiet = 0;
    }
    return true;
  }
});`;

/** The tone burst as 20 ms frames, phase continuous. */
function burstFrames(): Int16Array[] {
  return Array.from({ length: BURST_TICKS }, (_, frame) =>
    Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * TONE_HZ * (frame * FRAME_SAMPLES + i)) / MIX_RATE))),
  );
}

/** One PCMU stream from its own UDP socket; `audioLevel` adds the RFC 6464 extension as the gateway does. */
class PcmuStream {
  readonly socket = dgram.createSocket('udp4');
  /** Wall-clock send time of each burst's first packet. */
  readonly burstsSent: number[] = [];
  readonly ssrc = Math.floor(Math.random() * 0xffffffff);
  readonly #audioLevel: boolean;
  #target: { ip: string; port: number } | undefined;
  #sequence = 0;

  constructor(audioLevel: boolean) {
    this.#audioLevel = audioLevel;
  }

  async bind(): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    return (this.socket.address() as AddressInfo).port;
  }

  sendTo(target: { ip: string; port: number }): void {
    this.#target = target;
  }

  send(frame: Int16Array, burstStart: boolean): void {
    if (!this.#target) return;
    const packet = rtpPacket({
      payloadType: CODECS.PCMU.payloadType,
      sequence: this.#sequence,
      timestamp: this.#sequence * CODECS.PCMU.timestampStep,
      ssrc: this.ssrc,
      payload: PCMU.encode(frame),
      extension: this.#audioLevel ? audioLevelExtension(levelDbov(frame)) : undefined,
    });
    this.#sequence++;
    if (burstStart) this.burstsSent.push(wallClockMs());
    this.socket.send(packet, this.#target.port, this.#target.ip);
  }
}

/** Starts an onset detector on each participant's microphone audio in the page; onsets land in `window.onsets`. */
function listenForOnsets(page: Page, peerIds: string[]): Promise<void> {
  return page.evaluate(
    async (peerIds, processor) => {
      if (!window.onsetContext) {
        window.onsetContext = new AudioContext({ sampleRate: 48000 });
        await window.onsetContext.audioWorklet.addModule(URL.createObjectURL(new Blob([processor], { type: 'text/javascript' })));
      }
      const context = window.onsetContext;
      const onsets = (window.onsets ??= {});
      for (const peerId of peerIds) {
        const media = [...window.conference!.remoteMedia.value.values()].find((m) => m.peerId === peerId && m.source === 'mic')!;
        // No outputs: the audio thread pulls it anyway, and it plays nothing.
        const detector = new AudioWorkletNode(context, 'onset', { numberOfOutputs: 0 });
        const heard: number[] = (onsets[peerId] = []);
        detector.port.onmessage = () => heard.push(performance.timeOrigin + performance.now());
        context.createMediaStreamSource(new MediaStream([media.consumer.track])).connect(detector);
      }
    },
    peerIds,
    ONSET_PROCESSOR,
  );
}

/** Per burst, ms from sending its first packet to its onset in the page; undefined: not heard. */
type Latencies = (number | undefined)[];

/** Per burst sent, the delay to the first onset heard before the next burst. */
function latencies(sent: number[], heard: number[]): Latencies {
  return sent.map((at, i) => {
    const next = sent[i + 1] ?? Infinity;
    const onset = heard.find((t) => t >= at && t < next);
    return onset === undefined ? undefined : onset - at;
  });
}

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

/** The direct path: a phone peer producing what the stream sends into a comedia plain transport. */
async function produceDirect(peer: Awaited<ReturnType<typeof joinRoom>>, stream: PcmuStream): Promise<void> {
  await stream.bind();
  const transport = await peer.client.request('createPlainTransport', { comedia: true, rtcpMux: true });
  await peer.client.request('produce', {
    transportId: transport.id,
    kind: 'audio',
    source: 'mic',
    rtpParameters: {
      codecs: [{ mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: CODECS.PCMU.payloadType }],
      encodings: [{ ssrc: stream.ssrc }],
      headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_EXTENSION_ID }],
    },
  });
  stream.sendTo({ ip: transport.ip, port: transport.port });
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
  try {
    const call = await dialGateway(phoneApp, gw, viaGateway);
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
    call.destroy();
    const heard = (await page.evaluate(() => window.onsets))!;
    // Only bursts sent after the detectors started, less the warm-up.
    const measured = (stream: PcmuStream, peerId: string) =>
      latencies(stream.burstsSent.slice(sentBefore), heard[peerId]!).slice(WARMUP_BURSTS, WARMUP_BURSTS + BURSTS);
    return { gateway: measured(viaGateway, gatewayId), direct: measured(direct, directId) };
  } finally {
    stop?.();
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
