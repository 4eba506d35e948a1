import type { Peer } from './SipTransport.ts';

/**
 * drachtio's wire protocol: frames `<utf-8 byte length>#<payload>` (at most 6 length digits);
 * a payload is a `|`-separated leader line, then optionally CRLF and a SIP message.
 */
export const CRLF = '\r\n';
const MAX_LENGTH_DIGITS = 6;

/** Splits a byte stream into frame payloads; `undefined` from push means the stream is corrupt. */
export class FrameDecoder {
  #buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): string[] | undefined {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const frames: string[] = [];
    for (;;) {
      const hash = this.#buffer.indexOf('#'.charCodeAt(0));
      const digits = hash < 0 ? this.#buffer.length : hash;
      const prefix = this.#buffer.subarray(0, Math.min(digits, MAX_LENGTH_DIGITS + 1)).toString('latin1');
      if (!/^\d*$/.test(prefix) || digits > MAX_LENGTH_DIGITS) return undefined;
      if (hash < 0) return frames;
      const length = Number(prefix);
      if (length === 0) return undefined;
      if (this.#buffer.length < hash + 1 + length) return frames;
      frames.push(this.#buffer.subarray(hash + 1, hash + 1 + length).toString('utf8'));
      this.#buffer = this.#buffer.subarray(hash + 1 + length);
    }
  }
}

export function encodeFrame(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}#`, 'latin1'), body]);
}

/** A command from the app: leader tokens and the SIP text after the first CRLF, if any. */
export interface AppCommand {
  msgId: string;
  type: string;
  tokens: string[];
  sip?: string;
}

export function parseCommand(payload: string): AppCommand {
  const eol = payload.indexOf(CRLF);
  const leader = eol < 0 ? payload : payload.slice(0, eol);
  const tokens = leader.split('|');
  return { msgId: tokens[0], type: tokens[1] ?? '', tokens, sip: eol < 0 ? undefined : payload.slice(eol + 2) };
}

/** `HH:MM:SS.uuuuuu` (UTC), the time format of drachtio's message metadata. */
function wireTime(date = new Date()): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const micros = date.getUTCMilliseconds() * 1000 + Math.floor(Math.random() * 1000);
  return `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(micros, 6)}`;
}

/** `<source>|<bytes>|<proto>|<address>|<port>|<time>`: drachtio's SipMsgData_t::toMessageFormat. */
export function messageMeta(source: 'network' | 'application', bytes: number, peer: Peer): string {
  return `${source}|${bytes}|${peer.protocol}|${peer.address}|${peer.port}|${wireTime()}`;
}
