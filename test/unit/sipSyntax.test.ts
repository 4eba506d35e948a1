// RFC 3261 grammar pieces of the embedded SIP engine (URIs, name-addrs, Via,
// CSeq, header lists) and the SipMessage the engine builds and writes.
import { describe, expect, it } from 'vitest';
import { parseSipMessage } from '../../gateway/sip-engine/sipParser.ts';
import { SipMessage } from '../../gateway/sip-engine/SipMessage.ts';
import {
  BRANCH_COOKIE,
  formatVia,
  newBranch,
  parseCSeq,
  parseNameAddr,
  parseUri,
  parseVia,
  splitList,
  tagOf,
  withTag,
} from '../../gateway/sip-engine/sipSyntax.ts';

describe('SIP URIs', () => {
  it('reads user, host, port and parameters, lower-casing scheme and host', () => {
    const uri = parseUri('SIP:Alice@Atlanta.Example.COM:5070;transport=TCP;lr?subject=project');
    expect(uri).toMatchObject({ scheme: 'sip', user: 'Alice', host: 'atlanta.example.com', port: 5070 });
    expect([...uri!.params]).toEqual([['transport', 'TCP'], ['lr', null]]);
  });

  it('keeps user parameters and a password in the user part', () => {
    expect(parseUri('sip:+15551230123;phone-context=example.com@gw.example.com')).toMatchObject({
      user: '+15551230123;phone-context=example.com',
      host: 'gw.example.com',
    });
    expect(parseUri('sips:alice:secret@example.com')?.user).toBe('alice:secret');
  });

  it('reads IPv6 references with and without a port', () => {
    expect(parseUri('sip:[2001:DB8::1]:5060')).toMatchObject({ host: '[2001:db8::1]', port: 5060 });
    expect(parseUri('sip:bob@[::1]')).toMatchObject({ host: '[::1]', port: undefined });
  });

  it('takes other absolute URIs by their scheme only', () => {
    expect(parseUri('tel:+1-555-123-0123')).toMatchObject({ scheme: 'tel', host: '' });
    expect(parseUri('urn:service:sos')?.scheme).toBe('urn');
  });

  it.each([
    ['no scheme', 'alice@example.com'],
    ['an empty scheme', ':alice@example.com'],
    ['a scheme starting with a digit', '1sip:alice@example.com'],
    ['nothing after the scheme', 'tel:'],
    ['no host', 'sip:alice@'],
    ['an empty host', 'sip:'],
    ['a space', 'sip:alice@exa mple.com'],
    ['angle brackets', '<sip:alice@example.com>'],
    ['port 0', 'sip:alice@example.com:0'],
    ['port 65536', 'sip:alice@example.com:65536'],
    ['a port that is not a number', 'sip:alice@example.com:http'],
    ['an unclosed IPv6 reference', 'sip:[::1'],
    ['a bad host character', 'sip:alice@exa$mple.com'],
    ['an empty parameter name', 'sip:alice@example.com;=x'],
  ])('refuses a SIP URI with %s', (_what, value) => {
    expect(parseUri(value)).toBeUndefined();
  });
});

describe('name-addr (From, To, Contact)', () => {
  it('reads a quoted display name with escapes, the URI and the header parameters', () => {
    const addr = parseNameAddr('"Alice \\"Al\\", Smith" <sip:alice@example.org;transport=tcp>;tag=1928301774;x');
    expect(addr?.display).toBe('"Alice \\"Al\\", Smith"');
    expect(addr?.uri).toBe('sip:alice@example.org;transport=tcp');
    expect([...addr!.params]).toEqual([['tag', '1928301774'], ['x', null]]);
  });

  it('reads a token display name and a bare URI', () => {
    expect(parseNameAddr('Bob Smith <sip:bob@example.com>')?.display).toBe('Bob Smith');
    expect(parseNameAddr('<sip:bob@example.com>')?.display).toBe('');
  });

  it('gives the parameters after a bare addr-spec to the header, not the URI', () => {
    const addr = parseNameAddr('sip:bob@example.com;tag=a6c85cf');
    expect(addr?.uri).toBe('sip:bob@example.com');
    expect(addr?.params.get('tag')).toBe('a6c85cf');
  });

  it('reads a quoted display name holding angle brackets', () => {
    const addr = parseNameAddr('"<Alice>" <sip:alice@example.org>;tag=1');
    expect(addr?.uri).toBe('sip:alice@example.org');
    expect(tagOf('"a<b" <sip:alice@example.org>;tag=2')).toBe('2');
  });

  it.each([
    ['an unclosed angle bracket', 'Alice <sip:alice@example.org'],
    ['an unquoted display name with a separator', 'alice@home <sip:alice@example.org>'],
    ['an unterminated quoted display name', '"Alice <sip:alice@example.org>'],
    ['text after a quoted display name', '"Alice" Smith <sip:alice@example.org>'],
    ['a URI that is not one', 'Alice <alice@example.org>'],
    ['URI headers outside angle brackets', 'sip:alice@example.org?subject=x'],
    ['an empty header parameter', '<sip:alice@example.org>;;tag=1'],
    ['text after the URI that is not a parameter', '<sip:alice@example.org> junk'],
  ])('refuses %s', (_what, value) => {
    expect(parseNameAddr(value)).toBeUndefined();
  });

  it('adds a tag only where there is none, and reads it back', () => {
    expect(tagOf(withTag('Bob <sip:bob@example.com>', 'abc'))).toBe('abc');
    expect(withTag('Bob <sip:bob@example.com>;tag=old', 'new')).toBe('Bob <sip:bob@example.com>;tag=old');
    expect(tagOf('sip:bob@example.com')).toBeUndefined();
    expect(tagOf(undefined)).toBeUndefined();
    expect(withTag('not a name-addr', 'abc')).toBe('not a name-addr');
  });
});

describe('header lists', () => {
  it('splits on commas outside quotes and angle brackets', () => {
    expect(splitList('"Smith, Al" <sip:a@x;p=1,2>, <sip:b@y> , sip:c@z')).toEqual(['"Smith, Al" <sip:a@x;p=1,2>', '<sip:b@y>', 'sip:c@z']);
    expect(splitList('"a \\", b" <sip:a@x>, <sip:b@y>')).toEqual(['"a \\", b" <sip:a@x>', '<sip:b@y>']);
    expect(splitList(' , ,')).toEqual([]);
  });
});

describe('Via', () => {
  it('reads transport, host, port and parameters, allowing whitespace around the separators', () => {
    const via = parseVia('SIP / 2.0 / udp  PC33.Example.COM : 5066 ; branch=z9hG4bK776 ; rport');
    expect(via).toMatchObject({ transport: 'UDP', host: 'pc33.example.com', port: 5066 });
    expect([...via!.params]).toEqual([['branch', 'z9hG4bK776'], ['rport', null]]);
    expect(formatVia(via!)).toBe('SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bK776;rport');
  });

  it('reads an IPv6 sent-by without a port', () => {
    expect(parseVia('SIP/2.0/TCP [2001:db8::9];branch=z9hG4bKx')).toMatchObject({ host: '[2001:db8::9]', port: undefined });
  });

  it.each([
    ['no host', 'SIP/2.0/UDP'],
    ['another protocol version', 'SIP/3.0/UDP host'],
    ['port 0', 'SIP/2.0/UDP host:0'],
    ['port 70000', 'SIP/2.0/UDP host:70000'],
    ['garbage after the host', 'SIP/2.0/UDP host junk'],
    ['an empty parameter', 'SIP/2.0/UDP host;;branch=x'],
  ])('refuses one with %s', (_what, value) => {
    expect(parseVia(value)).toBeUndefined();
  });

  it('makes RFC 3261 branches, each new', () => {
    const a = newBranch();
    expect(a.startsWith(BRANCH_COOKIE)).toBe(true);
    expect(newBranch()).not.toBe(a);
  });
});

describe('CSeq', () => {
  it('reads the number and method', () => {
    expect(parseCSeq(' 4711   INVITE ')).toEqual({ seq: 4711, method: 'INVITE' });
    expect(parseCSeq(`${2 ** 31 - 1} BYE`)).toEqual({ seq: 2 ** 31 - 1, method: 'BYE' });
  });

  it.each(['INVITE', '1', '-1 INVITE', '1.5 INVITE', '2147483648 INVITE', '1 IN VITE', '1 INV@ITE'])('refuses %j', (value) => {
    expect(parseCSeq(value)).toBeUndefined();
  });
});

describe('SipMessage', () => {
  const message = () =>
    SipMessage.request('INVITE', 'sip:bob@example.com')
      .append('v', 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/UDP b.example.com;branch=z9hG4bK2')
      .append('Via', 'SIP/2.0/TCP c.example.com;branch=z9hG4bK3')
      .append('From', '<sip:alice@example.org>;tag=1')
      .append('subject', 'one, two');

  it('finds headers by full or compact name, whatever their case', () => {
    expect(message().get('VIA')).toContain('a.example.com');
    expect(message().get('f')).toBe('<sip:alice@example.org>;tag=1');
    expect(message().has('to')).toBe(false);
  });

  it('splits list headers into their entries, in order, and leaves others whole', () => {
    expect(message().values('via').map((v) => parseVia(v)?.host)).toEqual(['a.example.com', 'b.example.com', 'c.example.com']);
    expect(message().values('subject')).toEqual(['one, two']);
  });

  it('writes canonical header names', () => {
    const m = SipMessage.response(200, 'OK')
      .set('i', 'x')
      .set('cseq', '1 INVITE')
      .set('www-authenticate', 'Digest realm="r"')
      .set('content-type', 'application/sdp')
      .set('X-Custom-thing', 'y');
    expect(m.headers.map((h) => h.name)).toEqual(['Call-ID', 'CSeq', 'WWW-Authenticate', 'Content-Type', 'X-Custom-thing']);
  });

  it('replaces every header of a name where the first one was', () => {
    const m = message().set('via', 'SIP/2.0/UDP z.example.com;branch=z9hG4bK9');
    expect(m.headers.map((h) => h.key)).toEqual(['via', 'from', 'subject']);
    expect(m.values('via')).toEqual(['SIP/2.0/UDP z.example.com;branch=z9hG4bK9']);
    expect(message().remove('via').has('v')).toBe(false);
  });

  it('replaces only the top Via, also inside a comma list', () => {
    const m = message();
    m.setTopVia('SIP/2.0/UDP a.example.com;branch=z9hG4bK1;received=192.0.2.7');
    expect(m.values('via').map((v) => parseVia(v)?.params.get('received') ?? null)).toEqual(['192.0.2.7', null, null]);
    const none = SipMessage.request('ACK', 'sip:bob@example.com');
    none.setTopVia('SIP/2.0/UDP a.example.com');
    expect(none.has('via')).toBe(false);
  });

  it('writes a Content-Length that matches the body, whatever the header said, and parses back', () => {
    const m = message()
      .append('To', '<sip:bob@example.com>')
      .append('Call-ID', 'abc')
      .append('CSeq', '1 INVITE')
      .append('Content-Length', '999');
    m.body = Buffer.from('v=0\r\n');
    const wire = m.toBuffer();
    expect(wire.toString()).toMatch(/\r\nContent-Length: 5\r\n\r\nv=0\r\n$/);
    expect(wire.toString().match(/Content-Length/g)).toHaveLength(1);
    const back = parseSipMessage(wire, true);
    expect(back.ok && back.message.startLine()).toBe('INVITE sip:bob@example.com SIP/2.0');
    expect(back.ok && back.message.body.toString()).toBe('v=0\r\n');
  });
});
