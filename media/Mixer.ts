import { createCodec, FRAME_SAMPLES, type AudioCodec, type CodecName } from './codecs.ts';
import { JitterBuffer } from './JitterBuffer.ts';

/** One speaker as the mixer hears it. */
interface Source {
  speakerId: string;
  codec: AudioCodec;
  buffer: JitterBuffer;
}

/**
 * Mix-minus for a room: each speaker (an RTP stream, by SSRC) is decoded
 * once per tick into `frames`, and `total` is their sum. A listener hears
 * `total - its own voice`, clamped to 16 bits, never divided (so voices keep
 * their natural level). N listeners cost one decode per speaker plus one
 * subtraction per listener.
 */
export class Mixer {
  readonly #sources = new Map<number, Source>();
  /** This tick's decoded frame of each speaking speaker. */
  readonly frames = new Map<string, Int16Array>();
  /** This tick's sum of all speakers, unclamped. */
  readonly total = new Int32Array(FRAME_SAMPLES);

  addSource(ssrc: number, speakerId: string, codec: CodecName): void {
    this.#sources.set(ssrc, { speakerId, codec: createCodec(codec), buffer: new JitterBuffer() });
  }

  removeSource(ssrc: number): void {
    this.#sources.delete(ssrc);
  }

  clear(): void {
    this.#sources.clear();
  }

  /** A packet of one speaker; unknown SSRCs are ignored. */
  push(ssrc: number, sequence: number, payload: Buffer): void {
    this.#sources.get(ssrc)?.buffer.push(sequence, payload);
  }

  /** Decodes one frame of every speaker; run once per tick before the listeners read. */
  mix(): void {
    this.frames.clear();
    this.total.fill(0);
    for (const source of this.#sources.values()) {
      const payload = source.buffer.pull();
      if (payload === undefined) continue;
      let frame: Int16Array;
      try {
        frame = payload === null ? source.codec.conceal() : source.codec.decode(payload);
      } catch {
        frame = source.codec.conceal(); // a corrupt packet costs one frame, not the stream
      }
      const samples = Math.min(frame.length, FRAME_SAMPLES);
      for (let i = 0; i < samples; i++) this.total[i]! += frame[i]!;
      this.frames.set(source.speakerId, frame);
    }
  }

  /** What `speakerId` hears: everyone but itself. */
  mixMinus(speakerId: string | undefined, out: Int16Array): Int16Array {
    const own = speakerId === undefined ? undefined : this.frames.get(speakerId);
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      const value = this.total[i]! - (own?.[i] ?? 0);
      out[i] = value > 32767 ? 32767 : value < -32768 ? -32768 : value;
    }
    return out;
  }
}
