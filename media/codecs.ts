// The codecs a phone leg may negotiate. The gateway mixes narrowband: 8 kHz
// mono, 20 ms frames of 160 samples, whatever the leg's codec.
import { Decoder as OpusDecoder, Encoder as OpusEncoder } from '@evan/opus';
import alawmulaw from 'alawmulaw';

const { alaw, mulaw } = alawmulaw;

export const MIX_RATE = 8000;
export const FRAME_MS = 20;
export const FRAME_SAMPLES = (MIX_RATE * FRAME_MS) / 1000;

export type CodecName = 'PCMU' | 'PCMA' | 'opus';

/** What SDP says about a codec, and what the bridge's router calls it. */
export interface CodecDescription {
  name: CodecName;
  /** Static payload type, or the one we offer for dynamic codecs. */
  payloadType: number;
  clockRate: number;
  channels: number;
  /** Samples per 20 ms on the RTP clock. */
  timestampStep: number;
}

export const CODECS: Record<CodecName, CodecDescription> = {
  PCMU: { name: 'PCMU', payloadType: 0, clockRate: 8000, channels: 1, timestampStep: 160 },
  PCMA: { name: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1, timestampStep: 160 },
  opus: { name: 'opus', payloadType: 111, clockRate: 48000, channels: 2, timestampStep: 960 },
};

/** Turns one leg's payloads into 8 kHz samples and back. Opus keeps state, so one per stream. */
export interface AudioCodec {
  readonly description: CodecDescription;
  decode(payload: Uint8Array): Int16Array;
  /** A frame standing in for a lost packet (Opus conceals; G.711 plays silence). */
  conceal(): Int16Array;
  encode(frame: Int16Array): Uint8Array;
}

const SILENCE = new Int16Array(FRAME_SAMPLES);

class G711 implements AudioCodec {
  readonly description: CodecDescription;
  readonly #law: typeof alaw | typeof mulaw;

  constructor(name: 'PCMU' | 'PCMA') {
    this.description = CODECS[name];
    this.#law = name === 'PCMU' ? mulaw : alaw;
  }

  decode(payload: Uint8Array): Int16Array {
    return this.#law.decode(payload);
  }

  conceal(): Int16Array {
    return SILENCE;
  }

  encode(frame: Int16Array): Uint8Array {
    return this.#law.encode(frame);
  }
}

class Opus implements AudioCodec {
  readonly description = CODECS.opus;
  // Decoding straight to 8 kHz saves a resampler (libopus does it internally).
  readonly #decoder = new OpusDecoder({ channels: 1, sample_rate: MIX_RATE });
  #encoder: OpusEncoder | undefined;

  decode(payload: Uint8Array): Int16Array {
    const pcm = this.#decoder.decode(payload);
    return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength >> 1);
  }

  conceal(): Int16Array {
    // An empty packet asks libopus for packet-loss concealment of one frame.
    try {
      return this.decode(new Uint8Array(0));
    } catch {
      return SILENCE;
    }
  }

  encode(frame: Int16Array): Uint8Array {
    this.#encoder ??= new OpusEncoder({ channels: 1, sample_rate: MIX_RATE, application: 'voip' });
    return this.#encoder.encode(frame);
  }
}

export function createCodec(name: CodecName): AudioCodec {
  return name === 'opus' ? new Opus() : new G711(name);
}

/** RFC 6464 level of a frame: 0 (loudest) .. 127 (silent), in -dBov. */
export function levelDbov(frame: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i]! * frame[i]!;
  const rms = Math.sqrt(sum / Math.max(1, frame.length)) / 32768;
  if (rms <= 0) return 127;
  return Math.min(127, Math.max(0, Math.round(-20 * Math.log10(rms))));
}
