// Synthetic but realistic media for load tests: real VP8 RTP encoded once by
// ffmpeg and replayed in a loop, and Opus-sized audio packets carrying the
// RFC 6464 audio-level extension so the room's speaker detection has work.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { AUDIO_LEVEL_EXTENSION_ID, audioLevelExtension, rtpPacket } from '../../test/helpers/rtp.ts';

export const AUDIO_PT = 100;
export const VIDEO_PT = 101;
const AUDIO_PAYLOAD = Buffer.alloc(100, 0x42); // Opus-sized; the SFU does not decode it

interface CapturedPacket {
  payload: Buffer;
  marker: boolean;
  /** 90 kHz ticks since the first packet. */
  ticks: number;
}

/** Encodes `seconds` of a moving test pattern to VP8 RTP and keeps the packets. */
export async function captureVp8(seconds: number, kbps: number): Promise<{ packets: CapturedPacket[]; durationTicks: number }> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  const packets: CapturedPacket[] = [];
  let first: number | undefined;
  socket.on('message', (msg) => {
    const ts = msg.readUInt32BE(4);
    first ??= ts;
    packets.push({ payload: Buffer.from(msg.subarray(12)), marker: (msg[1]! & 0x80) !== 0, ticks: (ts - first) >>> 0 });
  });
  const ffmpeg = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', String(seconds),
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', `${kbps}k`, '-g', '30',
    '-f', 'rtp', '-payload_type', String(VIDEO_PT), '-ssrc', '1', `rtp://127.0.0.1:${port}?pkt_size=1200`,
  ]);
  await new Promise((resolve, reject) => ffmpeg.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`ffmpeg exited ${code}`)))));
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.close();
  return { packets, durationTicks: seconds * 90000 };
}

/** Encodes `seconds` of a tone to Opus (48 kHz, 20 ms frames) and keeps the RTP payloads, for senders a browser really decodes. */
export async function captureOpus(seconds: number, kbps = 32): Promise<Buffer[]> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const port = (socket.address() as AddressInfo).port;
  const payloads: Buffer[] = [];
  socket.on('message', (msg) => payloads.push(Buffer.from(msg.subarray(12))));
  const ffmpeg = spawn('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    // A 440 Hz tone that beeps on and off, about as busy for a decoder as speech.
    '-f', 'lavfi', '-i', 'sine=frequency=440:beep_factor=2:sample_rate=48000', '-t', String(seconds),
    '-c:a', 'libopus', '-b:a', `${kbps}k`, '-ac', '2', '-frame_duration', '20', '-application', 'voip',
    '-f', 'rtp', '-payload_type', String(AUDIO_PT), '-ssrc', '1', `rtp://127.0.0.1:${port}`,
  ]);
  await new Promise((resolve, reject) => ffmpeg.once('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`ffmpeg exited ${code}`)))));
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.close();
  return payloads;
}

export interface Stream {
  ssrc: number;
  target: { ip: string; port: number };
}

/**
 * Sends audio (50 packets/s, 100-byte payloads, or replayed real Opus
 * payloads if given) and replayed VP8 for every sender, paced from one timer.
 */
export class Transmitter {
  readonly socket = dgram.createSocket('udp4');
  readonly #video: { packets: CapturedPacket[]; durationTicks: number };
  readonly #audio: Buffer[] | undefined;
  readonly #senders: { audio: Stream; video: Stream; seqA: number; seqV: number; nextVideo: number; loops: number; levelPhase: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #audioSent = 0;
  packetsSent = 0;

  constructor(video: { packets: CapturedPacket[]; durationTicks: number }, audio?: Buffer[]) {
    this.#video = video;
    this.#audio = audio;
  }

  async bind(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.socket.setSendBufferSize(4 << 20);
  }

  add(audio: Stream, video: Stream): void {
    this.#senders.push({ audio, video, seqA: 0, seqV: 0, nextVideo: 0, loops: 0, levelPhase: this.#senders.length * 7 });
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), 5);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  close(): void {
    this.stop();
    this.socket.close();
  }

  #tick(): void {
    const elapsedMs = performance.now() - this.#startedAt;
    const audioDue = Math.floor(elapsedMs / 20);
    for (; this.#audioSent < audioDue; this.#audioSent++) {
      for (const s of this.#senders) {
        // Speech-like level that rises and falls, differently per sender.
        const level = 20 + Math.round(25 * (1 + Math.sin((this.#audioSent + s.levelPhase) / 15)));
        const packet = rtpPacket({
          payloadType: AUDIO_PT,
          sequence: s.seqA++,
          timestamp: this.#audioSent * 960,
          ssrc: s.audio.ssrc,
          payload: this.#audio ? this.#audio[this.#audioSent % this.#audio.length]! : AUDIO_PAYLOAD,
          extension: audioLevelExtension(level),
        });
        this.socket.send(packet, s.audio.target.port, s.audio.target.ip);
        this.packetsSent++;
      }
    }
    const { packets, durationTicks } = this.#video;
    const nowTicks = (elapsedMs * 90) >>> 0;
    for (const s of this.#senders) {
      for (;;) {
        const p = packets[s.nextVideo]!;
        const ticks = s.loops * durationTicks + p.ticks;
        if (ticks > nowTicks) break;
        const packet = rtpPacket({ payloadType: VIDEO_PT, marker: p.marker, sequence: s.seqV++, timestamp: ticks, ssrc: s.video.ssrc, payload: p.payload });
        this.socket.send(packet, s.video.target.port, s.video.target.ip);
        this.packetsSent++;
        if (++s.nextVideo === packets.length) {
          s.nextVideo = 0;
          s.loops++;
        }
      }
    }
  }
}

export const AUDIO_RTP_PARAMETERS = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: AUDIO_PT, clockRate: 48000, channels: 2 }],
  headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level' as const, id: AUDIO_LEVEL_EXTENSION_ID }],
  encodings: [{ ssrc }],
});

export const VIDEO_RTP_PARAMETERS = (ssrc: number) => ({
  codecs: [{ mimeType: 'video/VP8', payloadType: VIDEO_PT, clockRate: 90000 }],
  encodings: [{ ssrc }],
});
