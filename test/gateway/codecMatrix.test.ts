// The offers a gateway may see and what it makes of them: the codec it
// answers, the telephone-event it pairs with it (RFC 4733: at the codec's
// clock rate, 48 kHz for Opus), or 488, at the SDP level. The same offers in
// real calls: sippCalls.test.ts ("codec matrix"); real softphones on these
// paths: linphone.test.ts.
import sdpTransform from 'sdp-transform';
import { describe, expect, it } from 'vitest';
import type { CodecName } from '../../media/codecs.ts';
import { TelephoneEventDecoder } from '../../gateway/media/dtmf.ts';
import { LocalSdp, SdpError } from '../../gateway/media/sdp.ts';
import { audioOffer } from '../helpers/sippScenario.ts';

const GATEWAY_CODECS: CodecName[] = ['PCMU', 'PCMA', 'opus'];

const OPUS = '111 opus/48000/2';
const PCMU = '0 PCMU/8000';
const PCMA = '8 PCMA/8000';
const G722 = '9 G722/8000';
const EVENTS_48K = '101 telephone-event/48000';
const EVENTS_8K = '100 telephone-event/8000';

/** An offer as a phone sends it, with its rtpmap lines. */
function offer(rtpmaps: string[]): string {
  return audioOffer(rtpmaps)
    .replace(/\[local_ip_type\]|\[media_ip_type\]/g, '4')
    .replace(/\[local_ip\]|\[media_ip\]/g, '127.0.0.1')
    .replace('[media_port]', '4000')
    .replace(/\n\s+/g, '\r\n')
    .concat('\r\n');
}

/** The answer's audio stream: its payload types, with their rtpmap as `<encoding>/<rate>`. */
function answered(rtpmaps: string[]): string[] {
  const { sdp } = new LocalSdp('127.0.0.1', 5000).answer(offer(rtpmaps), GATEWAY_CODECS);
  const audio = sdpTransform.parse(sdp).media[0]!;
  return audio.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}${r.encoding ? `/${r.encoding}` : ''}`);
}

describe('codec and DTMF matrix: the answer', () => {
  it('Opus with telephone-event/48000: both answered, events at 48 kHz', () => {
    expect(answered([OPUS, EVENTS_48K])).toEqual([OPUS, EVENTS_48K]);
  });

  it('G.711 with telephone-event/8000', () => {
    expect(answered([PCMU, PCMA, EVENTS_8K])).toEqual([PCMU, EVENTS_8K]);
  });

  it('PCMA only: PCMA without telephone-event (DTMF by SIP INFO)', () => {
    expect(answered([PCMA])).toEqual([PCMA]);
  });

  it('Opus without telephone-event: none answered', () => {
    expect(answered([OPUS])).toEqual([OPUS]);
  });

  it('G.722 only: refused (the call gets 488)', () => {
    expect(() => answered([G722])).toThrow(SdpError);
  });

  it('several telephone-event rates: the one of the chosen codec, wherever it is listed', () => {
    expect(answered([EVENTS_8K, OPUS, PCMU, EVENTS_48K])).toEqual([OPUS, EVENTS_48K]);
    expect(answered([EVENTS_48K, PCMU, OPUS, EVENTS_8K])).toEqual([PCMU, EVENTS_8K]);
    // Events of another rate only: they go with another codec, so none are answered.
    expect(answered([OPUS, EVENTS_8K])).toEqual([OPUS]);
  });

  it('a dial-out offer has telephone-event for each clock rate it offers', () => {
    const sdp = new LocalSdp('127.0.0.1', 5000).offer(['PCMA', 'opus']);
    const events = sdpTransform.parse(sdp).media[0]!.rtp.filter((r) => r.codec === 'telephone-event').map((r) => r.rate);
    expect(events.sort()).toEqual([48000, 8000].sort());
    expect(sdpTransform.parse(new LocalSdp('127.0.0.1', 5000).offer(['PCMA'])).media[0]!.rtp.map((r) => `${r.codec}/${r.rate}`)).toEqual([
      'PCMA/8000',
      'telephone-event/8000',
    ]);
  });
});

describe('telephone-event decoding in the codec clock', () => {
  /** One event packet: event code, end bit, duration in clock units. */
  const event = (code: number, duration: number, end = false) => Buffer.from([code, (end ? 0x80 : 0) | 10, duration >> 8, duration & 0xff]);

  it('reports each key press once, on its first packet', () => {
    const decoder = new TelephoneEventDecoder(48000);
    const digits = [
      decoder.decode(1000, event(10, 0)),
      decoder.decode(1000, event(10, 4800)),
      decoder.decode(1000, event(10, 9600, true)),
      decoder.decode(1000, event(10, 9600, true)),
      decoder.decode(30000, event(6, 0)),
      decoder.decode(30000, event(6, 4800, true)),
    ];
    expect(digits.filter(Boolean)).toEqual(['*', '6']);
  });

  it('a key held past the 16-bit duration (1.37 s at 48 kHz) is one press in several segments', () => {
    const decoder = new TelephoneEventDecoder(48000);
    expect(decoder.decode(1000, event(11, 0))).toBe('#');
    expect(decoder.decode(1000, event(11, 0xffff))).toBeNull();
    // RFC 4733 2.5.1.3: the next segment starts where the full one ended.
    expect(decoder.decode(1000 + 0xffff, event(11, 960))).toBeNull();
    expect(decoder.decode(1000 + 0xffff, event(11, 4800, true))).toBeNull();
    // Released, then pressed again: a new key.
    expect(decoder.decode(1000 + 0xffff + 9600, event(11, 0))).toBe('#');
  });

  it('reads the gap before a same-key press in the clock of the codec', () => {
    // 3,000 units after a press whose end packets were lost: 62 ms at 48 kHz
    // (the same press, resumed), 375 ms at 8 kHz (a new press).
    const sameKey = (clockRate: number) => {
      const decoder = new TelephoneEventDecoder(clockRate);
      decoder.decode(0, event(5, 0));
      decoder.decode(0, event(5, 800));
      return decoder.decode(3800, event(5, 0));
    };
    expect(sameKey(48000)).toBeNull();
    expect(sameKey(8000)).toBe('5');
  });
});
