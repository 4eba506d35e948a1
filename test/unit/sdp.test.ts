// SDP offer/answer for a phone leg (RFC 3264) beyond the codec matrix
// (test/gateway/codecMatrix.test.ts): where the far end's audio goes, which of
// its streams is taken, hold, our answer's origin and direction, and the
// offers that get 488 (SdpError) instead of an answer.
import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import { LocalSdp, readRemoteAudio, SdpError } from '../../gateway/media/sdp.ts';

const ALL = ['PCMU', 'PCMA', 'opus'] as const;

/** An SDP from its lines (CRLF-joined), as a phone writes it. */
const sdp = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;
const HEAD = ['v=0', 'o=- 42 1 IN IP4 192.0.2.10', 's=-', 't=0 0'];
const audioOffer = (...media: string[]) => sdp(...HEAD, 'c=IN IP4 192.0.2.10', ...media);

describe('reading the far end audio', () => {
  it('takes address, port and the first offered codec we support, with the far end payload type', () => {
    const remote = readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 96 0 101', 'a=rtpmap:96 opus/48000/2', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/48000'), ALL);
    expect(remote).toMatchObject({ address: '192.0.2.10', port: 4000, rtcpPort: 4001, direction: 'sendrecv', telephoneEventPayloadType: 101 });
    expect(remote.codec).toMatchObject({ name: 'opus', payloadType: 96, clockRate: 48000 });
  });

  it('takes the media-level connection over the session one, and a=rtcp over port + 1', () => {
    const remote = readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 8', 'c=IN IP4 198.51.100.7', 'a=rtcp:5001'), ALL);
    expect(remote).toMatchObject({ address: '198.51.100.7', rtcpPort: 5001 });
    expect(readRemoteAudio(sdp(...HEAD, 'm=audio 4000 RTP/AVP 8', 'c=IN IP6 2001:db8::7'), ALL).address).toBe('2001:db8::7');
  });

  it('knows static payload types without an rtpmap, but not dynamic ones', () => {
    expect(readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 8 0'), ALL).codec.name).toBe('PCMA');
    expect(() => readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 111'), ALL)).toThrow(SdpError);
  });

  it('matches codec names in any case, and only at their clock rate', () => {
    expect(readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 0', 'a=rtpmap:0 pcmu/8000'), ALL).codec.name).toBe('PCMU');
    expect(() => readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 97', 'a=rtpmap:97 PCMU/16000'), ALL)).toThrow(/no common codec/);
  });

  it('takes only the codecs it was told to', () => {
    const offer = audioOffer('m=audio 4000 RTP/AVP 0 8');
    expect(readRemoteAudio(offer, ['PCMA']).codec.name).toBe('PCMA');
    expect(() => readRemoteAudio(offer, ['opus'])).toThrow(/we take opus/);
  });

  it('takes the first audio stream that is not rejected, after any video', () => {
    const offer = audioOffer('m=video 5000 RTP/AVP 96', 'a=rtpmap:96 H264/90000', 'm=audio 0 RTP/AVP 0', 'm=audio 6000 RTP/AVP 8');
    expect(readRemoteAudio(offer, ALL)).toMatchObject({ port: 6000, codec: { name: 'PCMA' } });
  });

  it('reads the far end direction from the stream or the session, and c=0.0.0.0 as hold', () => {
    expect(readRemoteAudio(audioOffer('m=audio 4000 RTP/AVP 0', 'a=sendonly'), ALL).direction).toBe('sendonly');
    expect(readRemoteAudio(sdp(...HEAD, 'c=IN IP4 192.0.2.10', 'a=recvonly', 'm=audio 4000 RTP/AVP 0'), ALL).direction).toBe('recvonly');
    expect(readRemoteAudio(sdp(...HEAD, 'c=IN IP4 0.0.0.0', 'm=audio 4000 RTP/AVP 0'), ALL).direction).toBe('inactive');
  });

  it.each([
    ['an empty body', ''],
    ['text that is not SDP', 'hello, this is not a session description'],
    ['no media', sdp(...HEAD, 'c=IN IP4 192.0.2.10')],
    ['video only', audioOffer('m=video 5000 RTP/AVP 96')],
    ['only rejected audio', audioOffer('m=audio 0 RTP/AVP 0')],
    ['SRTP', audioOffer('m=audio 4000 RTP/SAVP 0')],
    ['DTLS-SRTP', audioOffer('m=audio 4000 UDP/TLS/RTP/SAVPF 111', 'a=rtpmap:111 opus/48000/2')],
    ['no connection address', sdp(...HEAD, 'm=audio 4000 RTP/AVP 0')],
    ['no payload types', audioOffer('m=audio 4000 RTP/AVP')],
    ['payload types that are not numbers', audioOffer('m=audio 4000 RTP/AVP x y')],
    ['telephone-event alone', audioOffer('m=audio 4000 RTP/AVP 101', 'a=rtpmap:101 telephone-event/8000')],
    ['an RTP port out of range', audioOffer('m=audio 99999 RTP/AVP 0')],
    ['RTCP out of range after the last port', audioOffer('m=audio 65535 RTP/AVP 0')],
    ['an a=rtcp port out of range', audioOffer('m=audio 4000 RTP/AVP 0', 'a=rtcp:70000')],
    ['a host name as connection address', sdp(...HEAD, 'c=IN IP4 not-an-address', 'm=audio 4000 RTP/AVP 0')],
    ['an impossible IPv4 address', sdp(...HEAD, 'c=IN IP4 999.1.1.1', 'm=audio 4000 RTP/AVP 0')],
  ])('refuses %s with an SdpError (488)', (_what, offer) => {
    expect(() => readRemoteAudio(offer, ALL)).toThrow(SdpError);
  });
});

describe('our SDP', () => {
  const offer = audioOffer('m=audio 4000 RTP/AVP 0 101', 'a=rtpmap:101 telephone-event/8000', 'a=sendonly');

  it('answers from our address and port with the chosen codec, 20 ms packets and the opposite direction', () => {
    const { sdp: answer } = new LocalSdp('203.0.113.5', 12000).answer(offer, ALL);
    const parsed = sdpTransform.parse(answer);
    expect(parsed.connection).toEqual({ version: 4, ip: '203.0.113.5' });
    expect(parsed.origin).toMatchObject({ address: '203.0.113.5', ipVer: 4 });
    const audio = parsed.media[0]!;
    expect(audio).toMatchObject({ type: 'audio', port: 12000, protocol: 'RTP/AVP', payloads: '0 101', ptime: 20, direction: 'recvonly' });
    expect(audio.fmtp).toEqual([{ payload: 101, config: '0-16' }]);
  });

  it('writes IPv6 addresses as IP6', () => {
    const parsed = sdpTransform.parse(new LocalSdp('2001:db8::5', 12000).offer(['PCMU']));
    expect(parsed.connection).toEqual({ version: 6, ip: '2001:db8::5' });
    expect(parsed.origin?.ipVer).toBe(6);
  });

  it('keeps its session id and raises the version with each SDP it writes (RFC 3264 8)', () => {
    const local = new LocalSdp('203.0.113.5', 12000);
    const origins = [local.offer(['PCMU']), local.answer(offer, ALL).sdp, local.answer(offer, ALL).sdp].map((s) => sdpTransform.parse(s).origin!);
    expect(new Set(origins.map((o) => o.sessionId)).size).toBe(1);
    expect(origins.map((o) => o.sessionVersion)).toEqual([0, 1, 2]);
  });

  it('answers a hold with inactive, and a resume with sendrecv', () => {
    const local = new LocalSdp('203.0.113.5', 12000);
    const direction = (o: string) => sdpTransform.parse(local.answer(o, ALL).sdp).media[0]!.direction;
    expect(direction(sdp(...HEAD, 'c=IN IP4 0.0.0.0', 'm=audio 4000 RTP/AVP 0'))).toBe('inactive');
    expect(direction(audioOffer('m=audio 4000 RTP/AVP 0', 'a=inactive'))).toBe('inactive');
    expect(direction(audioOffer('m=audio 4000 RTP/AVP 0'))).toBe('sendrecv');
  });
});

describe('SRTP keyed by SDES (RFC 4568)', () => {
  const KEY = Buffer.alloc(30, 7).toString('base64');
  const secureOffer = (...crypto: string[]) => audioOffer('m=audio 4000 RTP/SAVP 0', ...crypto);
  const cryptoOf = (answer: string) => sdpTransform.parse(answer).media[0]!;

  it('answers RTP/SAVP with SRTP: the offer tag, our own fresh key, the far end key read', () => {
    const local = new LocalSdp('203.0.113.5', 12000);
    const { sdp: answer, remote } = local.answer(secureOffer(`a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20`), ALL);
    const audio = cryptoOf(answer);
    expect(audio.protocol).toBe('RTP/SAVP');
    expect(audio.crypto).toHaveLength(1);
    expect(audio.crypto![0]).toMatchObject({ id: 3, suite: 'AES_CM_128_HMAC_SHA1_80' });
    const ours = Buffer.from(audio.crypto![0]!.config.replace('inline:', ''), 'base64');
    expect(ours).toEqual(Buffer.concat([local.key.key, local.key.salt]));
    expect(ours.toString('base64')).not.toBe(KEY);
    expect(remote.srtp).toEqual({ tag: 3, key: { key: Buffer.alloc(16, 7), salt: Buffer.alloc(14, 7) } });
    expect(new LocalSdp('203.0.113.5', 12000).key.key).not.toEqual(local.key.key);
  });

  it('passes over suites, session parameters and MKIs it does not take, and refuses SAVP with nothing left', () => {
    const remote = readRemoteAudio(secureOffer(
      `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${Buffer.alloc(46).toString('base64')}`,
      `a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`,
      `a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`,
      `a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
    ), ALL);
    expect(remote.srtp?.tag).toBe(4);
    expect(() => readRemoteAudio(secureOffer(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${Buffer.alloc(20).toString('base64')}`), ALL)).toThrow(/RTP\/SAVP without a crypto suite/);
    expect(() => readRemoteAudio(secureOffer(), ALL)).toThrow(SdpError);
  });

  it('ignores a=crypto in a plain RTP/AVP offer, and answers it plain', () => {
    const { sdp: answer, remote } = new LocalSdp('203.0.113.5', 12000).answer(audioOffer('m=audio 4000 RTP/AVP 0', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`), ALL);
    expect(remote.srtp).toBeUndefined();
    expect(cryptoOf(answer)).toMatchObject({ protocol: 'RTP/AVP' });
    expect(cryptoOf(answer).crypto).toBeUndefined();
  });

  it('with SRTP required, refuses plain RTP; once a call is SRTP, a re-INVITE cannot take it back to plain', () => {
    expect(() => new LocalSdp('203.0.113.5', 12000, { required: true, offer: true }).answer(audioOffer('m=audio 4000 RTP/AVP 0'), ALL)).toThrow(/plain RTP is refused/);
    const local = new LocalSdp('203.0.113.5', 12000);
    local.answer(secureOffer(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`), ALL);
    expect(() => local.answer(audioOffer('m=audio 4000 RTP/AVP 0'), ALL)).toThrow(/cannot fall back to plain RTP/);
  });

  it('offers SRTP when told to, and wants the answer to take it', () => {
    const local = new LocalSdp('203.0.113.5', 12000, { required: false, offer: true });
    const offered = cryptoOf(local.offer(['PCMU']));
    expect(offered.protocol).toBe('RTP/SAVP');
    expect(offered.crypto![0]).toMatchObject({ id: 1, suite: 'AES_CM_128_HMAC_SHA1_80' });
    expect(() => local.readAnswer(audioOffer('m=audio 4000 RTP/AVP 0'), ALL)).toThrow(/did not take it/);
    expect(local.readAnswer(secureOffer(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`), ALL).srtp?.tag).toBe(1);
    expect(cryptoOf(new LocalSdp('203.0.113.5', 12000).offer(['PCMU'])).protocol).toBe('RTP/AVP');
  });
});
