// DTMF from phones: RFC 4733 telephone-events in the RTP stream, and SIP INFO
// bodies (application/dtmf-relay and application/dtmf).

const EVENT_DIGITS = '0123456789*#ABCD';

/**
 * How far after the end of an unfinished event the next segment of the same
 * key may start and still be that key (lost packets blur the end we saw).
 */
const SEGMENT_GAP_MS = 100;
/** An event's duration field is 16 bits; a longer press is sent in segments (RFC 4733 2.5.1.3). */
const MAX_SEGMENT_DURATION = 0xffff;

interface SeenEvent {
  timestamp: number;
  event: number;
  /** In the clock of the codec the events go with. */
  duration: number;
  ended: boolean;
}

/**
 * Turns a stream of telephone-event packets into digits. One key press is
 * several packets sharing an RTP timestamp (plus three redundant end
 * packets); the digit is reported once, on its first packet. Durations are in
 * the RTP clock of the negotiated codec: 48 kHz for Opus, where the 16-bit
 * duration runs out after 1.37 s, so a held key arrives in several segments
 * (new timestamps) that are still one press.
 */
export class TelephoneEventDecoder {
  readonly #segmentGap: number;
  #last: SeenEvent | undefined;

  constructor(clockRate: number) {
    this.#segmentGap = (clockRate * SEGMENT_GAP_MS) / 1000;
  }

  /** The digit this packet starts, or null (a continuation, or not a DTMF event). */
  decode(timestamp: number, payload: Buffer): string | null {
    if (payload.length < 4) return null;
    const event = payload[0]!;
    const digit = EVENT_DIGITS[event];
    if (!digit) return null;
    const seen: SeenEvent = { timestamp, event, duration: payload.readUInt16BE(2), ended: (payload[1]! & 0x80) !== 0 };
    const last = this.#last;
    this.#last = seen;
    if (timestamp === last?.timestamp) return null;
    if (last && this.#continues(last, seen)) return null;
    return digit;
  }

  /** Whether `next` is the next segment of the long press `last` was part of. */
  #continues(last: SeenEvent, next: SeenEvent): boolean {
    if (last.ended || last.event !== next.event) return false;
    // The new segment starts where the previous one ended, at most 0xFFFF after its start.
    const sinceStart = (next.timestamp - last.timestamp) >>> 0;
    return sinceStart <= MAX_SEGMENT_DURATION && sinceStart - last.duration <= this.#segmentGap;
  }
}

/** The digit in a SIP INFO body, or null when the body carries none. */
export function digitFromInfo(contentType: string | undefined, body: string): string | null {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  let signal: string | undefined;
  if (type === 'application/dtmf-relay') signal = /^\s*signal\s*=\s*(\S+)/im.exec(body)?.[1];
  else if (type === 'application/dtmf') signal = body.trim();
  if (!signal) return null;
  // Some phones send event codes (10 = *, 11 = #) in place of the characters.
  if (/^1[0-5]$/.test(signal)) return EVENT_DIGITS[Number(signal)]!;
  const upper = signal.toUpperCase();
  return upper.length === 1 && EVENT_DIGITS.includes(upper) ? upper : null;
}
