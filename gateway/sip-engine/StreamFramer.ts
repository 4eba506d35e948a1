import { MAX_MESSAGE_BYTES } from './sipParser.ts';

export type FramedItem =
  | { kind: 'message'; data: Buffer }
  /** RFC 5626 keep-alive ping (CRLFCRLF); answered with a single CRLF. */
  | { kind: 'ping' }
  /** The stream cannot be framed any more; `data` is what there was, for a best-effort 400. */
  | { kind: 'broken'; reason: string; data: Buffer };

const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\S*)[ \t]*$/im;

/** Cuts SIP messages out of a TCP byte stream by their Content-Length (RFC 3261 18.3). */
export class StreamFramer {
  #buffer: Buffer = Buffer.alloc(0);
  #broken = false;

  push(chunk: Buffer): FramedItem[] {
    if (this.#broken) return [];
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const items: FramedItem[] = [];
    for (;;) {
      const item = this.#next();
      if (!item) break;
      items.push(item);
      if (item.kind === 'broken') {
        this.#broken = true;
        this.#buffer = Buffer.alloc(0);
        break;
      }
    }
    return items;
  }

  #next(): FramedItem | undefined {
    let start = 0;
    while (start < this.#buffer.length && (this.#buffer[start] === 0x0d || this.#buffer[start] === 0x0a)) start++;
    if (start > 0) {
      const ping = this.#buffer.subarray(0, start).includes('\r\n\r\n');
      // Line ends that fill the buffer may be the first half of a ping: keep the last three.
      const kept = !ping && start === this.#buffer.length ? Math.min(start, 3) : 0;
      this.#buffer = this.#buffer.subarray(start - kept);
      if (ping) return { kind: 'ping' };
      if (kept > 0) return undefined;
    }
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end < 0) {
      return this.#buffer.length > MAX_MESSAGE_BYTES ? { kind: 'broken', reason: 'Message Too Large', data: this.#buffer } : undefined;
    }
    const head = this.#buffer.subarray(0, end).toString('latin1');
    const declared = CONTENT_LENGTH.exec(head)?.[1];
    // Without a usable length the rest of the stream cannot be delimited; the parser names the problem.
    if (declared === undefined || !/^\d{1,9}$/.test(declared)) {
      return { kind: 'broken', reason: declared === undefined ? 'Missing Content-Length' : 'Bad Content-Length', data: this.#buffer.subarray(0, end + 4) };
    }
    const total = end + 4 + Number(declared);
    if (total > MAX_MESSAGE_BYTES) return { kind: 'broken', reason: 'Message Too Large', data: this.#buffer.subarray(0, end + 4) };
    if (this.#buffer.length < total) return undefined;
    const data = this.#buffer.subarray(0, total);
    this.#buffer = this.#buffer.subarray(total);
    return { kind: 'message', data };
  }
}
