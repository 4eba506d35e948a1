// What the embedded SIP engine reads from its apps (drachtio-srf): the framed
// wire protocol, the command leader, the partial SIP messages apps send, and
// the responses and Via stamping the engine writes for requests itself.
import { describe, expect, it } from 'vitest';
import { appHeader, contentTypeFor, copyAppHeaders, localize, parseAppMessage, requestLine, statusLine, uriOf } from '../../gateway/sip-engine/appMessage.ts';
import { responseTo, stampVia } from '../../gateway/sip-engine/messages.ts';
import { parseSipMessage } from '../../gateway/sip-engine/sipParser.ts';
import { SipMessage } from '../../gateway/sip-engine/SipMessage.ts';
import { parseVia } from '../../gateway/sip-engine/sipSyntax.ts';
import { encodeFrame, FrameDecoder, parseCommand } from '../../gateway/sip-engine/wireProtocol.ts';

describe('drachtio frames', () => {
  it('counts UTF-8 bytes, and decodes frames whatever the chunking', () => {
    const payloads = ['abc|sip|INVITE sip:x@y SIP/2.0', 'ünïcødé ☎', 'x'];
    const stream = Buffer.concat(payloads.map(encodeFrame));
    expect(encodeFrame('☎').toString('latin1').startsWith('3#')).toBe(true);
    for (const size of [1, 2, 5, stream.length]) {
      const decoder = new FrameDecoder();
      const frames: string[] = [];
      for (let i = 0; i < stream.length; i += size) frames.push(...decoder.push(stream.subarray(i, i + size))!);
      expect(frames).toEqual(payloads);
    }
  });

  it.each([
    ['a length that is not digits', 'ab#cd'],
    ['a zero length', '0#'],
    ['a length of seven digits', '1234567#x'],
    ['seven digits without a # yet', '1234567'],
    ['a sign', '-1#x'],
  ])('calls a stream with %s corrupt', (_what, text) => {
    expect(new FrameDecoder().push(Buffer.from(text))).toBeUndefined();
  });

  it('waits for the rest of a frame', () => {
    const decoder = new FrameDecoder();
    expect(decoder.push(Buffer.from('10#abc'))).toEqual([]);
    expect(decoder.push(Buffer.from('defghij5#'))).toEqual(['abcdefghij']);
  });

  it('splits a command into its leader tokens and the SIP text', () => {
    expect(parseCommand('id1|sip|txn|dlg\r\nINVITE sip:a@b SIP/2.0\r\n\r\n')).toEqual({
      msgId: 'id1',
      type: 'sip',
      tokens: ['id1', 'sip', 'txn', 'dlg'],
      sip: 'INVITE sip:a@b SIP/2.0\r\n\r\n',
    });
    expect(parseCommand('id2')).toEqual({ msgId: 'id2', type: '', tokens: ['id2'], sip: undefined });
  });
});

describe('messages from apps', () => {
  it('reads start line, plain-token headers and body; drops lines it cannot use', () => {
    const message = parseAppMessage(
      ['INVITE sip:bob@example.com', 'From: <sip:a@localhost>', 'no colon', ': empty', 'Bad Name: x', 'X-Custom_1 :  y ', '', 'v=0\r\n\r\nmore'].join('\r\n'),
    );
    expect(message.startLine).toBe('INVITE sip:bob@example.com');
    expect(message.headers).toEqual([
      { name: 'From', value: '<sip:a@localhost>' },
      { name: 'X-Custom_1', value: 'y' },
    ]);
    expect(message.body.toString()).toBe('v=0\r\n\r\nmore');
    expect(parseAppMessage('')).toEqual({ startLine: '', headers: [], body: Buffer.alloc(0) });
  });

  it('reads request and status lines, with or without SIP/2.0 and reason', () => {
    expect(requestLine('INVITE sip:bob@example.com')).toEqual({ method: 'INVITE', uri: 'sip:bob@example.com' });
    expect(requestLine('BYE sip:bob@example.com SIP/2.0')).toEqual({ method: 'BYE', uri: 'sip:bob@example.com' });
    expect(requestLine('invite sip:bob@example.com')).toBeUndefined();
    expect(requestLine('INVITE')).toBeUndefined();
    expect(statusLine('SIP/2.0 486 Busy Here')).toEqual({ status: 486, reason: 'Busy Here' });
    expect(statusLine('SIP/2.0 200')).toEqual({ status: 200, reason: '' });
    expect(statusLine('SIP/2.0 700 Nope')).toBeUndefined();
  });

  it('copies the headers an app may set, localizing @localhost, never the engine-owned ones', () => {
    const app = parseAppMessage(
      ['INVITE sip:bob@example.com', 'From: "A" <sip:alice@localhost:5060>;tag=1', 'Via: SIP/2.0/UDP evil', 'Content-Length: 99', 'l: 99', 'Subject: hi', 'To: <sip:bob@example.com>'].join('\r\n'),
    );
    const target = SipMessage.request('INVITE', 'sip:bob@example.com');
    copyAppHeaders(app, target, new Set(['to']), '203.0.113.5:5070');
    expect(target.headers.map((h) => `${h.name}: ${h.value}`)).toEqual(['From: "A" <sip:alice@203.0.113.5:5070>;tag=1', 'Subject: hi']);
    expect(localize('subject', 'call me @localhost', 'h')).toBe('call me @localhost');
    expect(appHeader(app, 'f')).toBe('"A" <sip:alice@localhost:5060>;tag=1');
  });

  it('names the body type: the app one, SDP when it looks like SDP, else an error', () => {
    expect(contentTypeFor(parseAppMessage('INFO sip:x@y\r\n\r\n'))).toEqual({});
    expect(contentTypeFor(parseAppMessage('INFO sip:x@y\r\nContent-Type: application/dtmf-relay\r\n\r\nSignal=5'))).toEqual({ contentType: 'application/dtmf-relay' });
    expect(contentTypeFor(parseAppMessage('INVITE sip:x@y\r\n\r\nv=0\r\n'))).toEqual({ contentType: 'application/sdp' });
    expect(contentTypeFor(parseAppMessage('INFO sip:x@y\r\n\r\nSignal=5'))).toEqual({ error: 'missing content-type' });
  });

  it('takes the URI of a name-addr only when it is one', () => {
    expect(uriOf('Bob <sip:bob@example.com>;tag=1')).toBe('sip:bob@example.com');
    expect(uriOf('<not a uri>')).toBeUndefined();
    expect(uriOf(undefined)).toBeUndefined();
  });
});

describe('responses the engine writes itself', () => {
  const request = () => {
    const result = parseSipMessage(
      Buffer.from(
        [
          'INVITE sip:bob@example.com SIP/2.0',
          'Via: SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa, SIP/2.0/UDP proxy.example.com;branch=z9hG4bKb',
          'From: <sip:alice@example.org>;tag=1',
          'To: <sip:bob@example.com>',
          'Call-ID: c1',
          'CSeq: 7 INVITE',
          'Subject: not copied',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      ),
      false,
    );
    if (!result.ok) throw new Error(result.reason);
    return result.message;
  };

  it('stamps the top Via with rport, and received when the packet came from elsewhere (RFC 3581)', () => {
    const behindNat = request();
    stampVia(behindNat, { protocol: 'udp', address: '198.51.100.9', port: 40000 });
    const [top, next] = behindNat.values('via').map((v) => parseVia(v)!);
    expect(Object.fromEntries(top!.params)).toEqual({ branch: 'z9hG4bKa', received: '198.51.100.9', rport: '40000' });
    expect(Object.fromEntries(next!.params)).toEqual({ branch: 'z9hG4bKb' });
    const direct = request();
    stampVia(direct, { protocol: 'udp', address: '10.0.0.5', port: 5060 });
    expect(parseVia(direct.values('via')[0]!)!.params.has('received')).toBe(false);
  });

  it('answers with the Vias, From, To (tagged past 100), Call-ID and CSeq, and nothing else', () => {
    const ok = responseTo(request(), 200, undefined, 'totag');
    expect(ok.startLine()).toBe('SIP/2.0 200 OK');
    expect(ok.headers.map((h) => h.key)).toEqual(['via', 'from', 'to', 'call-id', 'cseq']);
    expect(ok.get('to')).toBe('<sip:bob@example.com>;tag=totag');
    expect(ok.values('via')).toHaveLength(2);
    expect(responseTo(request(), 100, undefined, 'totag').get('to')).toBe('<sip:bob@example.com>');
    expect(responseTo(request(), 400, 'Bad CSeq').reason).toBe('Bad CSeq');
    expect(responseTo(request(), 599).reason).toBe('Unknown');
  });
});
