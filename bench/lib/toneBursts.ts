// Mouth-to-ear measurement parts shared by the benchmarks that time audio
// into a browser (mouthToEar, cascadeMouthToEar): PCMU streams with short
// tone bursts, sent from this process and stamped as sent, and an onset
// detector in the page's audio thread that stamps each burst as heard. The
// page and this process are on one machine, so both stamps are on one clock.
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { Page } from 'puppeteer-core';
import { CODECS, createCodec, FRAME_SAMPLES, levelDbov, MIX_RATE } from '../../media/codecs.ts';
import { AUDIO_LEVEL_EXTENSION_ID, AUDIO_LEVEL_URI, audioLevelExtension, rtpPacket } from '../../media/rtp.ts';
import type { joinRoom } from '../../test/helpers/signaling.ts';
import { wallClockMs } from './stats.ts';

declare global {
  interface Window {
    /** Wall-clock onsets heard in the page, by peer id. */
    onsets?: Record<string, number[]>;
    onsetContext?: AudioContext;
  }
}

/** 20 ms frames of tone in a burst: 100 ms. */
export const BURST_TICKS = 5;
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
export function burstFrames(): Int16Array[] {
  return Array.from({ length: BURST_TICKS }, (_, frame) =>
    Int16Array.from({ length: FRAME_SAMPLES }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * TONE_HZ * (frame * FRAME_SAMPLES + i)) / MIX_RATE))),
  );
}

/** One PCMU stream from its own UDP socket; `audioLevel` adds the RFC 6464 extension as the gateway does. */
export class PcmuStream {
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

  /** `address`: where the bridge reaches this process (loopback, or the runner's address on test hosts). */
  async bind(address = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
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

/** The direct path: a phone peer producing what the stream sends into a comedia plain transport; `address` as for PcmuStream.bind. */
export async function produceDirect(peer: Awaited<ReturnType<typeof joinRoom>>, stream: PcmuStream, address?: string): Promise<void> {
  await stream.bind(address);
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

/** Starts an onset detector on each participant's microphone audio in the page; onsets land in `window.onsets`. */
export function listenForOnsets(page: Page, peerIds: string[]): Promise<void> {
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
export type Latencies = (number | undefined)[];

/** Per burst sent, the delay to the first onset heard before the next burst. */
export function latencies(sent: number[], heard: number[]): Latencies {
  return sent.map((at, i) => {
    const next = sent[i + 1] ?? Infinity;
    const onset = heard.find((t) => t >= at && t < next);
    return onset === undefined ? undefined : onset - at;
  });
}
