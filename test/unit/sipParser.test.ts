// The embedded SIP engine's message parser (RFC 3261 7 and 20): what it reads
// from well-formed messages, and the reason it gives for each malformed one.
// The reason becomes the phrase of the 400 the engine answers with, and the
// partial message must keep the Via that 400 is sent back along.
import { describe, expect, it } from 'vitest';
import { MAX_HEADERS, MAX_MESSAGE_BYTES, parseSipMessage, type ParseResult } from '../../gateway/sip-engine/sipParser.ts';
import type { SipMessage } from '../../gateway/sip-engine/SipMessage.ts';

const VIA = 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds';
const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';

/** The header lines of an INVITE from RFC 3261's example, which every test varies. */
function inviteHeaders(): string[] {
  return [
    `Via: ${VIA}`,
    'Max-Forwards: 70',
    'To: Bob <sip:bob@example.com>',
    'From: Alice <sip:alice@example.org>;tag=1928301774',
    'Call-ID: a84b4c76e66710@pc33.example.org',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@192.0.2.1>',
  ];
}

/** The INVITE with `header` replaced (null: removed) and a Content-Length for the body. */
function invite(changes: Record<string, string | null> = {}, body = SDP, startLine = 'INVITE sip:bob@example.com SIP/2.0'): Buffer {
  const lines = inviteHeaders()
    .map((line) => {
      const name = line.slice(0, line.indexOf(':'));
      return name in changes ? (changes[name] === null ? undefined : `${name}: ${changes[name]}`) : line;
    })
    .filter((line): line is string => line !== undefined);
  for (const [name, value] of Object.entries(changes)) {
    if (value !== null && !lines.some((line) => line.startsWith(`${name}:`))) lines.push(`${name}: ${value}`);
  }
  if (!('Content-Length' in changes)) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return Buffer.from(`${startLine}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
}

function parsed(result: ParseResult): SipMessage {
  if (!result.ok) throw new Error(`expected a message, got "${result.reason}"`);
  return result.message;
}

function failure(result: ParseResult): { reason: string; partial?: SipMessage } {
  if (result.ok) throw new Error('expected the message to be refused');
  return result;
}

describe('SIP message parser', () => {
  it('reads a request: start line, headers in order, body by Content-Length', () => {
    const message = parsed(parseSipMessage(invite(), false));
    expect(message.isRequest).toBe(true);
    expect(message.method).toBe('INVITE');
    expect(message.uri).toBe('sip:bob@example.com');
    expect(message.headers.map((h) => h.key)).toEqual(['via', 'max-forwards', 'to', 'from', 'call-id', 'cseq', 'contact', 'content-length']);
    expect(message.get('CALL-ID')).toBe('a84b4c76e66710@pc33.example.org');
    expect(message.body.toString()).toBe(SDP);
  });

  it('reads a response, with a reason phrase of several words or none', () => {
    const head = inviteHeaders().filter((l) => !l.startsWith('Max-Forwards') && !l.startsWith('Contact'));
    const ringing = parsed(parseSipMessage(Buffer.from(`SIP/2.0 180 Ringing Loudly\r\n${head.join('\r\n')}\r\n\r\n`), false));
    expect(ringing.isRequest).toBe(false);
    expect(ringing.status).toBe(180);
    expect(ringing.reason).toBe('Ringing Loudly');
    expect(parsed(parseSipMessage(Buffer.from(`SIP/2.0 200 \r\n${head.join('\r\n')}\r\n\r\n`), false)).reason).toBe('');
  });

  it('expands compact header names and keeps the names as written', () => {
    const compact = Buffer.from(
      [
        'BYE sip:bob@example.com SIP/2.0',
        `v: ${VIA}`,
        't: <sip:bob@example.com>;tag=a6c85cf',
        'f: <sip:alice@example.org>;tag=1928301774',
        'i: a84b4c76e66710',
        'CSeq: 231 BYE',
        'm: <sip:alice@192.0.2.1>',
        'l: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const message = parsed(parseSipMessage(compact, true));
    expect(message.get('Via')).toBe(VIA);
    expect(message.get('call-id')).toBe('a84b4c76e66710');
    expect(message.get('contact')).toBe('<sip:alice@192.0.2.1>');
    expect(message.headers.find((h) => h.key === 'from')?.name).toBe('f');
  });

  it('joins folded header lines (RFC 3261 7.3.1) and trims the whitespace around values', () => {
    const message = parsed(parseSipMessage(invite({ Subject: 'I know you are there,\r\n    pick up the phone\r\n\tand talk to me!' }), false));
    expect(message.get('subject')).toBe('I know you are there, pick up the phone and talk to me!');
    const spaced = parsed(parseSipMessage(invite({ 'Max-Forwards': '70   ' }), false));
    expect(spaced.get('max-forwards')).toBe('70');
  });

  it('accepts bare LF line ends and a CRLF before the start line', () => {
    const lf = Buffer.from(invite({ 'Content-Length': null }).toString().replaceAll('\r\n', '\n'));
    expect(parsed(parseSipMessage(lf, false)).body.toString()).toBe(SDP.replaceAll('\r\n', '\n'));
    expect(parsed(parseSipMessage(Buffer.concat([Buffer.from('\r\n'), invite()]), false)).method).toBe('INVITE');
  });

  it('keeps a binary body byte for byte', () => {
    const body = Buffer.from([0, 255, 13, 10, 13, 10, 128]);
    const data = Buffer.concat([invite({ 'Content-Type': 'application/octet-stream' }, ''), body]);
    const withLength = Buffer.from(data.toString('latin1').replace('Content-Length: 0', `Content-Length: ${body.length}`), 'latin1');
    expect(parsed(parseSipMessage(withLength, true)).body).toEqual(body);
  });

  describe('Content-Length', () => {
    it('is optional over UDP, where the body is the rest of the datagram', () => {
      const message = parsed(parseSipMessage(invite({ 'Content-Length': null }), false));
      expect(message.body.toString()).toBe(SDP);
    });

    it('is required over TCP, where nothing else delimits the message', () => {
      const result = failure(parseSipMessage(invite({ 'Content-Length': null }), true));
      expect(result.reason).toBe('Missing Content-Length');
      expect(result.partial?.get('via')).toBe(VIA);
    });

    it('cuts the body to the declared length (RFC 3261 18.3: the rest of a datagram is discarded)', () => {
      const message = parsed(parseSipMessage(invite({ 'Content-Length': '3' }), false));
      expect(message.body.toString()).toBe('v=0');
    });

    it('refuses a length longer than the body that came', () => {
      const result = failure(parseSipMessage(invite({ 'Content-Length': String(SDP.length + 1) }), false));
      expect(result.reason).toBe('Content-Length Mismatch');
      expect(result.partial?.get('via')).toBe(VIA);
    });

    it.each(['abc', '-1', '1.5', '1234567890', '5 5'])('refuses the value %j', (value) => {
      expect(failure(parseSipMessage(invite({ 'Content-Length': value }), false)).reason).toBe('Bad Content-Length');
    });
  });

  describe('framing and start line', () => {
    it('calls a message without the blank line after its headers truncated, keeping what it read', () => {
      const head = invite().toString();
      const result = failure(parseSipMessage(Buffer.from(head.slice(0, head.indexOf('\r\n\r\n'))), false));
      expect(result.reason).toBe('Truncated Message');
      expect(result.partial?.get('call-id')).toBe('a84b4c76e66710@pc33.example.org');
    });

    it('refuses a message over 64 KiB but still reads its Via, so it can be answered', () => {
      const body = 'a'.repeat(MAX_MESSAGE_BYTES);
      const result = failure(parseSipMessage(invite({}, body), false));
      expect(result.reason).toBe('Message Too Large');
      expect(result.partial?.method).toBe('INVITE');
      expect(result.partial?.get('via')).toBe(VIA);
    });

    it('refuses a message of more than MAX_HEADERS header fields (a header flood), keeping the first ones so it can be answered', () => {
      const flood = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`X-Flood-${i}`, String(i)]));
      const base = inviteHeaders().length + 1; // and Content-Length
      expect(parsed(parseSipMessage(invite(flood(MAX_HEADERS - base)), false)).headers).toHaveLength(MAX_HEADERS);
      const result = failure(parseSipMessage(invite(flood(MAX_HEADERS - base + 1)), false));
      expect(result.reason).toBe('Too Many Headers');
      expect(result.partial?.headers).toHaveLength(MAX_HEADERS);
      expect(result.partial?.get('via')).toBe(VIA);
    });

    it('takes a message of exactly 64 KiB', () => {
      const overhead = invite({ 'Content-Length': '99999' }, '').length;
      const data = invite({ 'Content-Length': String(MAX_MESSAGE_BYTES - overhead) }, 'a'.repeat(MAX_MESSAGE_BYTES - overhead));
      expect(data.length).toBe(MAX_MESSAGE_BYTES);
      expect(parsed(parseSipMessage(data, true)).body.length).toBe(MAX_MESSAGE_BYTES - overhead);
    });

    it.each([
      ['garbage', '\x00\x01\x02 binary'],
      ['an empty start line', ''],
      ['a status code out of range', 'SIP/2.0 99 Too Low'],
      ['a status line without reason separator', 'SIP/2.0 200'],
      ['another protocol', 'HTTP/1.1 200 OK'],
    ])('drops %s without a partial message (nothing to answer)', (_what, startLine) => {
      const result = failure(parseSipMessage(invite({}, SDP, startLine), false));
      expect(result.reason).toBe('Bad Start Line');
      expect(result.partial).toBeUndefined();
    });

    it.each([
      ['another SIP version', 'INVITE sip:bob@example.com SIP/3.0'],
      ['no SIP version', 'INVITE sip:bob@example.com'],
      ['two spaces', 'INVITE  sip:bob@example.com SIP/2.0'],
    ])('answers a request line with %s, whose Via is still usable', (_what, startLine) => {
      const result = failure(parseSipMessage(invite({}, SDP, startLine), false));
      expect(result.reason).toBe('Bad Request Line');
      expect(result.partial?.method).toBe('INVITE');
      expect(result.partial?.get('via')).toBe(VIA);
    });
  });

  describe('headers', () => {
    it.each([
      ['no colon', 'This line has no colon'],
      ['a space in the name', 'Bad Name: value'],
      ['an empty name', ': value'],
      ['a separator in the name', 'Bad(Name): value'],
    ])('refuses a header line with %s and keeps the headers before it', (_what, line) => {
      const data = Buffer.from(invite().toString().replace('Max-Forwards: 70', `Max-Forwards: 70\r\n${line}`));
      const result = failure(parseSipMessage(data, false));
      expect(result.reason).toBe('Malformed Header Line');
      expect(result.partial?.get('via')).toBe(VIA);
      expect(result.partial?.get('to')).toBeUndefined();
    });

    it.each([
      ['Via', null, 'Missing Via'],
      ['Via', 'SIP/2.0/UDP', 'Bad Via'],
      ['Via', `${VIA}, garbage`, 'Bad Via'],
      ['From', null, 'Missing From'],
      ['From', 'Alice <sip:alice@example.org', 'Bad From'],
      ['To', null, 'Missing To'],
      ['To', 'bob@example.com', 'Bad To'],
      ['Call-ID', null, 'Missing Call-ID'],
      ['Call-ID', '', 'Missing Call-ID'],
      ['Call-ID', 'two words', 'Bad Call-ID'],
      ['CSeq', null, 'Missing CSeq'],
      ['CSeq', 'INVITE 1', 'Bad CSeq'],
      ['CSeq', '2147483648 INVITE', 'Bad CSeq'],
      ['CSeq', '1 BYE', 'CSeq Method Mismatch'],
      ['CSeq', '1 invite', 'CSeq Method Mismatch'],
      ['Max-Forwards', 'seventy', 'Bad Max-Forwards'],
      ['Max-Forwards', '1000', 'Bad Max-Forwards'],
    ])('%s %j: %s', (name, value, reason) => {
      const result = failure(parseSipMessage(invite({ [name]: value }), false));
      expect(result.reason).toBe(reason);
      expect(result.partial?.method).toBe('INVITE');
    });

    it.each(['bob@example.com', 'sip:', 'sip:bob@', 'sip:bob@example.com:0', 'sip:bob@exa mple.com'])('refuses the Request-URI %j', (uri) => {
      const result = failure(parseSipMessage(invite({}, SDP, `INVITE ${uri} SIP/2.0`), false));
      expect(result.reason).toMatch(/^Bad Request/);
    });

    it('takes a tel: Request-URI and several Via headers', () => {
      const data = invite({}, SDP, 'INVITE tel:+15551230123 SIP/2.0').toString().replace(`Via: ${VIA}`, `Via: ${VIA}\r\nVia: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx`);
      const message = parsed(parseSipMessage(Buffer.from(data), false));
      expect(message.uri).toBe('tel:+15551230123');
      expect(message.values('via')).toHaveLength(2);
    });
  });
});
