// SDP offer/answer for a phone leg (RFC 3264), with sdp-transform. One audio
// stream; G.711 and Opus; telephone-event for DTMF, at the clock rate of the
// codec it goes with (RFC 4733 2.1: a phone pairs Opus with telephone-event/48000).
// SRTP keyed by SDES when the far end offers RTP/SAVP (sdes.ts).
import net from 'node:net';
import sdpTransform from 'sdp-transform';
import { CODECS, type CodecDescription, type CodecName } from '../../media/codecs.ts';
import type { SrtpKey } from '../../media/SrtpSession.ts';
import { chooseCrypto, cryptoLine, newSrtpKey, SDES_SUITE, type SdesOffer } from './sdes.ts';

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What the far end's SDP tells us about its audio. */
export interface RemoteAudio {
  address: string;
  port: number;
  rtcpPort: number;
  /** The codec to use, with the payload type the far end chose for it. */
  codec: CodecDescription;
  telephoneEventPayloadType: number | undefined;
  /** The far end's direction (sendonly/inactive: it put us on hold). */
  direction: Direction;
  /** RTP/AVP, or RTP/SAVP (or SAVPF) with the far end's SDES key. */
  profile: string;
  srtp: SdesOffer | undefined;
}

/** Whether a leg must, may or (not offered) does not use SRTP. */
export interface SrtpPolicy {
  /** Plain RTP is refused (488). */
  required: boolean;
  /** Our own offers (dial-out) ask for SRTP. */
  offer: boolean;
}

export class SdpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SdpError';
  }
}

/** The payload types we offer telephone-event on, one per codec clock rate. */
const TELEPHONE_EVENT_PTS: ReadonlyMap<number, number> = new Map([
  [8000, 101],
  [48000, 110],
]);
const OPPOSITE: Record<Direction, Direction> = {
  sendrecv: 'sendrecv',
  sendonly: 'recvonly',
  recvonly: 'sendonly',
  inactive: 'inactive',
};

type MediaDescription = sdpTransform.SessionDescription['media'][number];

interface TelephoneEvent {
  rate: number;
  payloadType: number;
}

const PLAIN_RTP: SrtpPolicy = { required: false, offer: false };

/** The tag of the one a=crypto line we offer. */
const OFFER_TAG = 1;

/**
 * Our side of one leg's SDP: keeps the origin line's version rising across
 * re-INVITEs, and our SRTP key, which stays the leg's for its life. Once the
 * leg is SRTP (or plain), a re-INVITE cannot change that: a downgrade to
 * plain RTP mid-call is refused.
 */
export class LocalSdp {
  readonly #address: string;
  readonly #port: number;
  readonly #policy: SrtpPolicy;
  readonly #sessionId = Math.floor(Math.random() * 1e9);
  /** Our master key and salt for what we send, when the leg is SRTP. */
  readonly key: SrtpKey = newSrtpKey();
  #version = 0;
  /** Settled by the first offer/answer. */
  #secure: boolean | undefined;

  constructor(address: string, port: number, policy: SrtpPolicy = PLAIN_RTP) {
    this.#address = address;
    this.#port = port;
    this.#policy = policy;
  }

  /** An offer listing `codecs` in our order of preference (dial-out, late offer). */
  offer(codecs: readonly CodecName[]): string {
    const descriptions = codecs.map((name) => ({ ...CODECS[name] }));
    // The far end answers with one codec and the telephone-event of its rate, so offer one per rate.
    const rates = new Set(descriptions.map((c) => c.clockRate));
    const events = [...TELEPHONE_EVENT_PTS].filter(([rate]) => rates.has(rate)).map(([rate, payloadType]) => ({ rate, payloadType }));
    const secure = this.#secure ?? (this.#policy.offer || this.#policy.required);
    return this.#write(descriptions, events, 'sendrecv', secure ? { profile: 'RTP/SAVP', tag: OFFER_TAG } : undefined);
  }

  /** Reads the answer to our offer: it must take SRTP if we offered it, with our tag. */
  readAnswer(answerSdp: string, supported: readonly CodecName[]): RemoteAudio {
    const remote = readRemoteAudio(answerSdp, supported);
    const offered = this.#secure ?? (this.#policy.offer || this.#policy.required);
    if (offered && remote.srtp?.tag !== OFFER_TAG) throw new SdpError(`we offered SRTP (${SDES_SUITE}) and the answer did not take it`);
    if (!offered && remote.srtp) throw new SdpError('the answer has SRTP keys we did not offer');
    this.#secure = offered;
    return remote;
  }

  /** Answers an offer; throws SdpError (answer 488) when there is nothing we can use. */
  answer(offerSdp: string, supported: readonly CodecName[]): { sdp: string; remote: RemoteAudio } {
    const remote = vetOffer(offerSdp, supported, this.#policy);
    const secure = remote.srtp !== undefined;
    if (this.#secure !== undefined && secure !== this.#secure) {
      throw new SdpError(secure ? 'a plain RTP call cannot switch to SRTP' : 'an SRTP call cannot fall back to plain RTP');
    }
    this.#secure = secure;
    const pt = remote.telephoneEventPayloadType;
    const events = pt === undefined ? [] : [{ rate: remote.codec.clockRate, payloadType: pt }];
    const sdp = this.#write([remote.codec], events, OPPOSITE[remote.direction], remote.srtp ? { profile: remote.profile, tag: remote.srtp.tag } : undefined);
    return { sdp, remote };
  }

  #write(codecs: CodecDescription[], events: readonly TelephoneEvent[], direction: Direction, srtp?: { profile: string; tag: number }): string {
    const payloads = codecs.map((c) => c.payloadType);
    const rtp: MediaDescription['rtp'] = codecs.map((c) => ({
      payload: c.payloadType,
      codec: c.name,
      rate: c.clockRate,
      encoding: c.channels > 1 ? c.channels : undefined,
    }));
    const fmtp: MediaDescription['fmtp'] = [];
    for (const { rate, payloadType } of events) {
      payloads.push(payloadType);
      rtp.push({ payload: payloadType, codec: 'telephone-event', rate });
      fmtp.push({ payload: payloadType, config: '0-16' });
    }
    const ip = this.#address.includes(':') ? 6 : 4;
    return sdpTransform.write({
      version: 0,
      origin: {
        username: '-',
        sessionId: this.#sessionId,
        sessionVersion: this.#version++,
        netType: 'IN',
        ipVer: ip,
        address: this.#address,
      },
      name: 'telebridge',
      timing: { start: 0, stop: 0 },
      connection: { version: ip, ip: this.#address },
      media: [
        {
          type: 'audio',
          port: this.#port,
          protocol: srtp?.profile ?? 'RTP/AVP',
          payloads: payloads.join(' '),
          rtp,
          fmtp,
          ptime: 20,
          direction,
          ...(srtp ? { crypto: [cryptoLine(srtp.tag, this.key)] } : {}),
        },
      ],
    });
  }
}

/** The far end's audio in an offer we could answer under `policy`; else SdpError (488). */
export function vetOffer(offerSdp: string, supported: readonly CodecName[], policy: SrtpPolicy): RemoteAudio {
  const remote = readRemoteAudio(offerSdp, supported);
  if (!remote.srtp && policy.required) throw new SdpError(`plain RTP is refused: SRTP (RTP/SAVP, ${SDES_SUITE}) is required`);
  return remote;
}

/** Reads the far end's audio stream from an offer or answer. */
export function readRemoteAudio(sdp: string, supported: readonly CodecName[]): RemoteAudio {
  let session: sdpTransform.SessionDescription;
  try {
    session = sdpTransform.parse(sdp);
  } catch (error) {
    throw new SdpError(`unparseable SDP: ${(error as Error).message}`);
  }
  const audio = session.media?.find((m) => m.type === 'audio' && m.port > 0);
  if (!audio) throw new SdpError('no audio stream in the SDP');
  const profile = audio.protocol;
  if (!/^RTP\/S?AVPF?$/.test(profile)) throw new SdpError(`unsupported transport ${profile.slice(0, 64)}`);
  // Keys count only with a secure profile (RFC 4568 3.1.4); an AVP offer's a=crypto is ignored.
  const srtp = profile.startsWith('RTP/SAVP') ? chooseCrypto(audio.crypto) : undefined;
  if (profile.startsWith('RTP/SAVP') && !srtp) throw new SdpError(`${profile} without a crypto suite we take (${SDES_SUITE}, inline key, no MKI)`);
  const address = audio.connection?.ip ?? session.connection?.ip;
  if (!address) throw new SdpError('no connection address in the SDP');
  // An address, not a host name: a name would cost a DNS lookup per packet sent.
  if (!net.isIP(address)) throw new SdpError(`connection address ${JSON.stringify(address.slice(0, 64))} is not an IP address`);
  // RTCP goes to the port after RTP unless a=rtcp says otherwise: both must be real ports.
  const rtcpPort = audio.rtcp?.port ?? audio.port + 1;
  if (!isPort(audio.port) || !isPort(rtcpPort)) throw new SdpError(`audio port ${audio.port} (RTCP ${rtcpPort}) is out of range`);
  const offered = String(audio.payloads ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map(Number);
  const rtpmap = new Map((audio.rtp ?? []).map((r) => [r.payload, r]));
  let codec: CodecDescription | undefined;
  for (const pt of offered) {
    const map = rtpmap.get(pt);
    const name = map?.codec.toLowerCase();
    if (name === 'telephone-event') continue;
    const match = supported.find((candidate) => {
      const known = CODECS[candidate];
      // Static payload types may come without an rtpmap line.
      if (!map) return pt === known.payloadType && pt < 96;
      return name === known.name.toLowerCase() && map.rate === known.clockRate;
    });
    if (match) {
      codec = { ...CODECS[match], payloadType: pt };
      break;
    }
  }
  if (!codec) throw new SdpError(`no common codec (offered payload types ${offered.join(' ')}; we take ${supported.join(', ')})`);
  // Events are timed in their codec's clock: a telephone-event of another rate is for another codec.
  const clockRate = codec.clockRate;
  const telephoneEventPayloadType = offered.find((pt) => {
    const map = rtpmap.get(pt);
    return map?.codec.toLowerCase() === 'telephone-event' && map.rate === clockRate;
  });
  const holdAddress = address === '0.0.0.0' || address === '::';
  const direction: Direction = holdAddress ? 'inactive' : ((audio.direction ?? session.direction ?? 'sendrecv') as Direction);
  return {
    address,
    port: audio.port,
    rtcpPort,
    codec,
    telephoneEventPayloadType,
    direction,
    profile,
    srtp,
  };
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}
