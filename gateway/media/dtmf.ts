// DTMF from phones: RFC 4733 telephone-events in the RTP stream, and SIP INFO
// bodies (application/dtmf-relay and application/dtmf).

const EVENT_DIGITS = '0123456789*#ABCD';

/**
 * Turns a stream of telephone-event packets into digits. One key press is
 * several packets sharing an RTP timestamp (plus three redundant end
 * packets); the digit is reported once, on its first packet.
 */
export class TelephoneEventDecoder {
  #lastTimestamp: number | undefined;

  /** The digit this packet starts, or null (a continuation, or not a DTMF event). */
  decode(timestamp: number, payload: Buffer): string | null {
    if (payload.length < 4) return null;
    const digit = EVENT_DIGITS[payload[0]!];
    if (!digit || timestamp === this.#lastTimestamp) return null;
    this.#lastTimestamp = timestamp;
    return digit;
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
