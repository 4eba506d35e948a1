import { randomInt } from 'node:crypto';
import type dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { createCodec, type AudioCodec } from '../../media/codecs.ts';
import { TelephoneEventDecoder } from './dtmf.ts';
import type { SocketPair } from '../../media/PortPool.ts';
import { ReceptionStats, senderReport } from '../../media/rtcp.ts';
import { isRtcp, parseRtp, rtpPacket, type RtpPacket } from '../../media/rtp.ts';
import { SrtpSession, type SrtpKey } from '../../media/SrtpSession.ts';
import type { RemoteAudio } from './sdp.ts';

const RTCP_INTERVAL_MS = 5000;

interface Target {
  address: string;
  port: number;
}

interface PhoneRtpEvents {
  /** A voice packet from the phone (DTMF events are taken out). */
  audio: [packet: RtpPacket];
  digit: [digit: string];
}

/**
 * The RTP and RTCP sockets facing one phone. Symmetric RTP: replies go to
 * where the phone's packets really come from (it may sit behind NAT), and
 * once latched, packets from anywhere else are dropped. When the SDP agreed
 * on SRTP, everything is protected on the way out and must authenticate on
 * the way in: a packet that does not is dropped before it can latch.
 */
export class PhoneRtp extends EventEmitter<PhoneRtpEvents> {
  readonly pair: SocketPair;
  readonly codec: AudioCodec;
  readonly #ssrc = randomInt(1, 0xffffffff);
  readonly #cname: string;
  readonly #dtmf: TelephoneEventDecoder;
  readonly #reception = new ReceptionStats();
  readonly #rtcpTimer: NodeJS.Timeout;
  readonly #localKey: SrtpKey;
  #srtp: SrtpSession | undefined;
  #remote: RemoteAudio;
  #rtpTarget: Target;
  #rtcpTarget: Target;
  #latched = false;
  #sequence = randomInt(0, 0xffff);
  #timestamp = randomInt(0, 0xffffffff);
  #marker = true;
  packetsSent = 0;
  octetsSent = 0;
  packetsReceived = 0;
  lastReceivedAt = Date.now();

  /** `localKey`: ours, used when `remote` carries the far end's SRTP key. */
  constructor(pair: SocketPair, remote: RemoteAudio, cname: string, localKey: SrtpKey) {
    super();
    this.pair = pair;
    this.#cname = cname;
    this.#remote = remote;
    this.#localKey = localKey;
    this.#srtp = remote.srtp && new SrtpSession(localKey, remote.srtp.key);
    this.codec = createCodec(remote.codec.name);
    // Telephone-events share the negotiated codec's clock (the SDP pairs them by rate).
    this.#dtmf = new TelephoneEventDecoder(remote.codec.clockRate);
    this.#rtpTarget = { address: remote.address, port: remote.port };
    this.#rtcpTarget = { address: remote.address, port: remote.rtcpPort };
    pair.rtp.on('message', (msg, rinfo) => this.#onRtp(msg, rinfo));
    pair.rtcp.on('message', (msg, rinfo) => this.#onRtcp(msg, rinfo));
    // Unreachable peers produce ICMP errors on some systems; they are not fatal.
    pair.rtp.on('error', () => {});
    pair.rtcp.on('error', () => {});
    this.#rtcpTimer = setInterval(() => this.#sendRtcp(), RTCP_INTERVAL_MS);
  }

  get port(): number {
    return this.pair.port;
  }

  get remote(): RemoteAudio {
    return this.#remote;
  }

  /** Whether the leg is SRTP. */
  get secure(): boolean {
    return this.#srtp !== undefined;
  }

  /** Packets that failed SRTP authentication or were replayed. */
  get rejectedPackets(): number {
    return this.#srtp?.rejected ?? 0;
  }

  /** A re-INVITE changed the far end: new address (until latched), hold state, its SRTP key. */
  update(remote: RemoteAudio): void {
    const oldKey = this.#remote.srtp?.key;
    if (remote.srtp && !(oldKey && oldKey.key.equals(remote.srtp.key.key) && oldKey.salt.equals(remote.srtp.key.salt))) {
      this.#srtp = new SrtpSession(this.#localKey, remote.srtp.key);
    }
    this.#remote = { ...remote, codec: this.#remote.codec };
    if (!this.#latched) {
      this.#rtpTarget = { address: remote.address, port: remote.port };
      this.#rtcpTarget = { address: remote.address, port: remote.rtcpPort };
    }
  }

  /** Encodes and sends one 20 ms frame, unless the phone put us on hold. */
  sendFrame(frame: Int16Array): void {
    const step = this.#remote.codec.timestampStep;
    this.#timestamp = (this.#timestamp + step) >>> 0;
    if (this.#remote.direction === 'sendonly' || this.#remote.direction === 'inactive') return;
    const payload = this.codec.encode(frame);
    const packet = rtpPacket({
      payloadType: this.#remote.codec.payloadType,
      sequence: this.#sequence,
      timestamp: this.#timestamp,
      ssrc: this.#ssrc,
      marker: this.#marker,
      payload,
    });
    this.#marker = false;
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.packetsSent++;
    this.octetsSent += payload.length;
    this.pair.rtp.send(this.#srtp ? this.#srtp.protectRtp(packet) : packet, this.#rtpTarget.port, this.#rtpTarget.address);
  }

  close(): void {
    clearInterval(this.#rtcpTimer);
    this.removeAllListeners();
  }

  #onRtp(received: Buffer, rinfo: dgram.RemoteInfo): void {
    if (isRtcp(received)) return this.#onRtcp(received, rinfo); // rtcp-mux
    const msg = this.#srtp ? this.#srtp.unprotectRtp(received) : received;
    if (!msg) return;
    const packet = parseRtp(msg);
    if (!packet) return;
    const { payloadType } = packet;
    const isDtmf = payloadType === this.#remote.telephoneEventPayloadType;
    if (!isDtmf && payloadType !== this.#remote.codec.payloadType) return;
    if (!this.#latch(rinfo)) return;
    this.lastReceivedAt = Date.now();
    this.packetsReceived++;
    this.#reception.onRtp(packet.sequence, packet.ssrc);
    if (isDtmf) {
      const digit = this.#dtmf.decode(packet.timestamp, packet.payload);
      if (digit) this.emit('digit', digit);
      return;
    }
    this.emit('audio', packet);
  }

  #latch(rinfo: dgram.RemoteInfo): boolean {
    if (this.#latched) return rinfo.address === this.#rtpTarget.address && rinfo.port === this.#rtpTarget.port;
    this.#latched = true;
    this.#rtpTarget = { address: rinfo.address, port: rinfo.port };
    if (this.#rtcpTarget.address !== rinfo.address) this.#rtcpTarget = { address: rinfo.address, port: rinfo.port + 1 };
    return true;
  }

  #onRtcp(received: Buffer, rinfo: dgram.RemoteInfo): void {
    if (received.length < 8 || !isRtcp(received)) return;
    if (rinfo.address !== this.#rtpTarget.address) return;
    const msg = this.#srtp ? this.#srtp.unprotectRtcp(received) : received;
    if (!msg) return;
    this.#rtcpTarget = { address: rinfo.address, port: rinfo.port };
    this.#reception.onRtcp(msg);
  }

  #sendRtcp(): void {
    if (this.#remote.direction === 'inactive') return;
    const report = senderReport({
      ssrc: this.#ssrc,
      rtpTimestamp: this.#timestamp,
      packets: this.packetsSent,
      octets: this.octetsSent,
      cname: this.#cname,
      report: this.#reception.reportBlock(),
    });
    this.pair.rtcp.send(this.#srtp ? this.#srtp.protectRtcp(report) : report, this.#rtcpTarget.port, this.#rtcpTarget.address);
  }
}
