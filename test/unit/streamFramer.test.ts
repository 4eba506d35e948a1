// Cutting SIP messages out of a TCP byte stream (RFC 3261 18.3) and the
// RFC 5626 keep-alive ping, whatever way the stream arrives in chunks.
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../gateway/sip-engine/sipParser.ts';
import { type FramedItem, StreamFramer } from '../../gateway/sip-engine/StreamFramer.ts';

function message(cseq: number, body = '', lengthHeader = `Content-Length: ${Buffer.byteLength(body)}`): string {
  return [
    'OPTIONS sip:gw.example.com SIP/2.0',
    'Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK' + cseq,
    'From: <sip:a@example.org>;tag=1',
    'To: <sip:gw.example.com>',
    'Call-ID: c1',
    `CSeq: ${cseq} OPTIONS`,
    lengthHeader,
    '',
    body,
  ].join('\r\n');
}

/** What the framer makes of `chunks`, pushed one after another; messages as text. */
function frame(chunks: (string | Buffer)[]): (FramedItem | string)[] {
  const framer = new StreamFramer();
  return chunks
    .flatMap((chunk) => framer.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1')))
    .map((item) => (item.kind === 'message' ? item.data.toString('latin1') : item));
}

/** `text` in pieces of `size` bytes. */
const pieces = (text: string, size: number): string[] => Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size));

describe('SIP stream framing', () => {
  it('cuts back-to-back messages by their Content-Length, bodies included', () => {
    const a = message(1, 'hello\r\n\r\nworld');
    const b = message(2);
    expect(frame([a + b])).toEqual([a, b]);
  });

  it('reassembles a message whatever the chunking, one byte at a time included', () => {
    const a = message(1, 'v=0\r\n');
    const b = message(2, 'x');
    for (const size of [1, 3, 7, 64]) expect(frame(pieces(a + b, size))).toEqual([a, b]);
  });

  it('waits for the whole body before handing a message on', () => {
    const a = message(1, '0123456789');
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from(a.slice(0, -1)))).toEqual([]);
    expect(framer.push(Buffer.from(a.slice(-1)))).toMatchObject([{ kind: 'message' }]);
  });

  it('reads the compact and any-case Content-Length, with spaces around the colon', () => {
    for (const header of ['l: 3', 'content-LENGTH : 3', 'Content-Length:3  ']) {
      const a = message(1, 'abc', header);
      expect(frame([a + message(2)])).toEqual([a, message(2)]);
    }
  });

  it('answers a CRLFCRLF ping, skips CRLFs between messages and a single CRLF (a pong)', () => {
    const a = message(1);
    expect(frame([`\r\n\r\n${a}\r\n${a}`, '\r\n'])).toEqual([{ kind: 'ping' }, a, a]);
  });

  it('sees a ping split across chunks', () => {
    expect(frame(['\r\n', '\r\n'])).toEqual([{ kind: 'ping' }]);
    expect(frame([`${message(1)}\r\n\r`, '\n'])).toEqual([message(1), { kind: 'ping' }]);
  });

  it('gives up on a stream whose message has no Content-Length: nothing after it can be delimited', () => {
    const bad = message(1, '', 'Subject: none');
    const items = frame([bad + message(2), message(3)]);
    expect(items).toEqual([{ kind: 'broken', reason: 'Missing Content-Length', data: expect.any(Buffer) }]);
    // The head is kept for a best-effort 400 along its Via.
    expect((items[0] as { data: Buffer }).data.toString()).toContain('branch=z9hG4bK1');
  });

  it.each(['abc', '-1', '1234567890', ''])('gives up on the Content-Length %j', (value) => {
    expect(frame([message(1, '', `Content-Length: ${value}`)])).toMatchObject([{ kind: 'broken', reason: 'Bad Content-Length' }]);
  });

  it('gives up on a message declared larger than 64 KiB without waiting for it', () => {
    expect(frame([message(1, '', `Content-Length: ${MAX_MESSAGE_BYTES}`)])).toMatchObject([{ kind: 'broken', reason: 'Message Too Large' }]);
  });

  it('gives up on a head that runs past 64 KiB without ending', () => {
    const framer = new StreamFramer();
    const line = Buffer.from(`X-Filler: ${'a'.repeat(1000)}\r\n`);
    const items: FramedItem[] = [];
    for (let sent = 0; sent <= MAX_MESSAGE_BYTES && items.length === 0; sent += line.length) items.push(...framer.push(line));
    expect(items).toMatchObject([{ kind: 'broken', reason: 'Message Too Large' }]);
  });

  it('takes nothing more once broken', () => {
    const framer = new StreamFramer();
    expect(framer.push(Buffer.from(message(1, '', 'Content-Length: x')))).toHaveLength(1);
    expect(framer.push(Buffer.from(message(2)))).toEqual([]);
  });
});
