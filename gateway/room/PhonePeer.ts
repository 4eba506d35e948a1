import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DisconnectReason, PeerInfo } from '../../bridge/protocol.ts';
import { SignalingClient } from '../../bridge/signalingClient.ts';
import { levelDbov, type AudioCodec, type CodecDescription } from '../media/codecs.ts';
import { AUDIO_LEVEL_EXTENSION_ID, AUDIO_LEVEL_URI, audioLevelExtension, rtpPacket, type RtpPacket } from '../media/rtp.ts';
import type { RoomAudio } from './RoomAudio.ts';

interface PhonePeerEvents {
  /** Someone (visible) came or went: the caller hears a tone. */
  peerJoined: [peer: PeerInfo];
  peerLeft: [peerId: string];
  /** A moderator muted the caller (the bridge already paused the producer). */
  mutedByModerator: [by: string];
  /** The bridge ended this participant (kicked, room closed) or the connection broke. */
  disconnected: [reason: DisconnectReason | 'connectionLost'];
}

export interface PhonePeerOptions {
  bridgeUrl: string;
  room: RoomAudio;
  displayName: string;
  codec: CodecDescription;
  /** The room's password, if it is locked. */
  password?: string;
}

/**
 * A caller as a participant of the room: a `phone` peer with its own
 * signaling connection (so it is listed, can raise a hand, be muted or
 * removed) and one audio producer on a plain transport. The caller's packets
 * are forwarded as they come, untranscoded, with an RFC 6464 audio level so
 * active-speaker detection works for phones too.
 */
export class PhonePeer extends EventEmitter<PhonePeerEvents> {
  readonly id: string;
  readonly #client: SignalingClient;
  readonly #room: RoomAudio;
  readonly #target: { ip: string; port: number };
  readonly #producerId: string;
  readonly #payloadType: number;
  readonly #ssrc: number;
  #sequence = randomInt(0, 0xffff);
  #muted = false;
  /** Who else (visible) is in the room. */
  readonly #others: Set<string>;

  private constructor(
    client: SignalingClient,
    room: RoomAudio,
    joined: { peerId: string; peers: PeerInfo[] },
    media: { target: { ip: string; port: number }; producerId: string; payloadType: number; ssrc: number },
  ) {
    super();
    this.#client = client;
    this.#room = room;
    this.id = joined.peerId;
    this.#others = new Set(joined.peers.map((p) => p.id));
    this.#target = media.target;
    this.#producerId = media.producerId;
    this.#payloadType = media.payloadType;
    this.#ssrc = media.ssrc;
    client.on('peerJoined', ({ peer }) => {
      this.#others.add(peer.id);
      this.emit('peerJoined', peer);
    });
    client.on('peerLeft', ({ peerId }) => {
      this.#others.delete(peerId);
      this.emit('peerLeft', peerId);
    });
    client.on('mutedByModerator', ({ by }) => {
      this.#muted = true;
      this.emit('mutedByModerator', by);
    });
    let reason: DisconnectReason | undefined;
    client.on('disconnected', (data) => (reason = data.reason));
    client.onClose(() => this.emit('disconnected', reason ?? 'connectionLost'));
  }

  static async join(options: PhonePeerOptions): Promise<PhonePeer> {
    const client = await SignalingClient.connect(options.bridgeUrl);
    try {
      const joined = await client.request('join', {
        room: options.room.room,
        displayName: options.displayName,
        kind: 'phone',
        password: options.password,
      });
      const transport = await client.request('createPlainTransport', { comedia: false, rtcpMux: true });
      await client.request('connectPlainTransport', {
        transportId: transport.id,
        ip: options.room.mediaAddress,
        port: options.room.socket.port,
      });
      const ssrc = randomInt(1, 0xffffffff);
      const { codec } = options;
      const { producerId } = await client.request('produce', {
        transportId: transport.id,
        kind: 'audio',
        source: 'mic',
        rtpParameters: {
          codecs: [
            {
              mimeType: `audio/${codec.name}`,
              clockRate: codec.clockRate,
              channels: codec.channels,
              payloadType: codec.payloadType,
            },
          ],
          encodings: [{ ssrc }],
          headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_EXTENSION_ID }],
        },
      });
      return new PhonePeer(client, options.room, joined, {
        target: { ip: transport.ip, port: transport.port },
        producerId,
        payloadType: codec.payloadType,
        ssrc,
      });
    } catch (error) {
      client.close();
      throw error;
    }
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** Other visible participants (for "you are the only participant"). */
  get others(): number {
    return this.#others.size;
  }

  /** Forwards one packet of the caller's voice, with its level, unless muted. */
  forward(packet: RtpPacket, codec: AudioCodec): void {
    if (this.#muted || this.#room.closed) return;
    let level = 127;
    try {
      level = levelDbov(codec.decode(packet.payload));
    } catch {
      return; // undecodable: the room would not hear it either
    }
    const out = rtpPacket({
      payloadType: this.#payloadType,
      sequence: this.#sequence,
      timestamp: packet.timestamp,
      ssrc: this.#ssrc,
      marker: packet.marker,
      payload: packet.payload,
      extension: audioLevelExtension(level, level < 127),
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#room.socket.rtp.send(out, this.#target.port, this.#target.ip);
  }

  /** Mute or unmute; the room sees the caller's microphone state change. */
  async setMuted(muted: boolean): Promise<void> {
    this.#muted = muted;
    await this.#client.request('setProducerPaused', { producerId: this.#producerId, paused: muted });
  }

  async setHandRaised(raised: boolean): Promise<void> {
    await this.#client.request('setHandRaised', { raised });
  }

  leave(): void {
    this.removeAllListeners();
    this.#client.close();
  }
}
