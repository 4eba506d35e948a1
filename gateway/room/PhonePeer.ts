import { randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { DisconnectReason, PeerInfo, RecordingInfo } from '../../protocol/protocol.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { levelDbov, type AudioCodec, type CodecDescription } from '../../media/codecs.ts';
import { AUDIO_LEVEL_EXTENSION_ID, AUDIO_LEVEL_URI, audioLevelExtension, rtpPacket, type RtpPacket } from '../../media/rtp.ts';
import type { RoomAudio } from '../../media/RoomAudio.ts';

interface PhonePeerEvents {
  /** Someone (visible) came or went: the caller hears a tone. */
  peerJoined: [peer: PeerInfo];
  peerLeft: [peerId: string];
  /** A moderator muted the caller (the bridge already paused the producer). */
  mutedByModerator: [by: string];
  /** A recording or live stream of the room began capturing: the caller is told. */
  recordingStarted: [];
  /** The bridge ended this participant (kicked, room closed) or the connection broke. */
  disconnected: [reason: DisconnectReason | 'connectionLost'];
}

/** The bridge ended the participant before its join had finished (kicked, room closed). */
export class DisconnectedWhileJoining extends Error {
  override name = 'DisconnectedWhileJoining';
  readonly reason: DisconnectReason;

  constructor(reason: DisconnectReason) {
    super(`the bridge ended the participant while it joined (${reason})`);
    this.reason = reason;
  }
}

export interface PhonePeerOptions {
  bridgeUrl: string;
  room: RoomAudio;
  displayName: string;
  codec: CodecDescription;
  /** The room's password, if it is locked. */
  password?: string;
  /** The bridge's SERVICE_SECRET: phone peers are a service's. */
  secret: string | undefined;
  /** The dial-out invitation this callee answers: a moderator invited it, so it skips the lobby. */
  dialOutCallId?: string;
  /** Joining again after the room's bridge was lost (see the join's `bridgeLost`). */
  bridgeLost?: boolean;
  /** Where the caller is (GATEWAY_REGION, the join's `region`): a bridge of that region may serve the meeting. */
  region?: string;
  /** The caller had muted itself before a re-join: its voice stays off. */
  muted?: boolean;
  /** The room's lobby holds the join until a moderator decides (or it times out): the caller is put on hold. */
  onWaitingInLobby?: () => void;
  /** Abandons the join (the caller hung up): the socket closes, so the bridge drops a waiting knock. */
  signal?: AbortSignal;
  /** How long the socket may take to open (SignalingClient's default if unset). */
  connectTimeoutMs?: number;
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
  readonly #codec: CodecDescription;
  readonly #ssrc = randomInt(1, 0xffffffff);
  #target: { ip: string; port: number } | undefined;
  #producerId: string | undefined;
  #sequence = randomInt(0, 0xffff);
  #muted: boolean;
  /** The other live bridges, in the room's order, as the join answered (where to go if this one dies). */
  readonly fallbacks: readonly string[];
  /** Why the bridge ended this participant, as it said before closing. */
  #endedBy: DisconnectReason | undefined;
  /** Who else (visible) is in the room. */
  readonly #others: Set<string>;
  /** Recordings capturing the room (announced at most once each). */
  readonly #recordings: Set<string>;

  private constructor(
    client: SignalingClient,
    room: RoomAudio,
    codec: CodecDescription,
    muted: boolean,
    joined: { peerId: string; peers: PeerInfo[]; recordings: RecordingInfo[]; fallbacks: string[] },
  ) {
    super();
    this.#client = client;
    this.#room = room;
    this.#codec = codec;
    this.#muted = muted;
    this.fallbacks = joined.fallbacks;
    this.id = joined.peerId;
    this.#others = new Set(joined.peers.map((p) => p.id));
    this.#recordings = new Set(joined.recordings.filter((r) => r.state === 'active').map((r) => r.id));
    client.on('recordingUpdated', ({ recording }) => {
      if (recording.state !== 'active' || this.#recordings.has(recording.id)) return;
      this.#recordings.add(recording.id);
      this.emit('recordingStarted');
    });
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
    // The room moved to another media worker: our producer is gone; make it again.
    client.on('mediaRestart', () => {
      this.#target = undefined;
      this.#publish().catch(() => this.emit('disconnected', 'connectionLost'));
    });
    client.on('disconnected', (data) => (this.#endedBy = data.reason));
    client.onClose(() => this.emit('disconnected', this.#endedBy ?? 'connectionLost'));
  }

  static async join(options: PhonePeerOptions): Promise<PhonePeer> {
    const { signal } = options;
    signal?.throwIfAborted();
    const client = await SignalingClient.connect(options.bridgeUrl, { connectTimeoutMs: options.connectTimeoutMs });
    const abandon = () => client.close();
    signal?.addEventListener('abort', abandon, { once: true });
    // Visible in the room from 'join' on, the caller can be removed before the join is even
    // answered (the bridge still finishing it) or before publishing has finished.
    let endedBy: DisconnectReason | undefined;
    client.on('disconnected', (data) => (endedBy = data.reason));
    try {
      signal?.throwIfAborted();
      if (options.onWaitingInLobby) client.on('waitingInLobby', options.onWaitingInLobby);
      const joined = await client.request('join', {
        room: options.room.room,
        displayName: options.displayName,
        kind: 'phone',
        password: options.password,
        secret: options.secret,
        dialOutCallId: options.dialOutCallId,
        bridgeLost: options.bridgeLost,
        region: options.region,
      });
      const peer = new PhonePeer(client, options.room, options.codec, options.muted ?? false, joined);
      await peer.#publish();
      return peer;
    } catch (error) {
      client.close();
      if (endedBy) throw new DisconnectedWhileJoining(endedBy);
      throw error;
    } finally {
      signal?.removeEventListener('abort', abandon);
    }
  }

  /** The caller's voice as one audio producer on a plain transport from the room's socket. */
  async #publish(): Promise<void> {
    const client = this.#client;
    const codec = this.#codec;
    const transport = await client.request('createPlainTransport', { comedia: false, rtcpMux: true });
    await client.request('connectPlainTransport', { transportId: transport.id, ip: this.#room.mediaAddress, port: this.#room.socket.port });
    const { producerId } = await client.request('produce', {
      transportId: transport.id,
      kind: 'audio',
      source: 'mic',
      paused: this.#muted,
      rtpParameters: {
        codecs: [{ mimeType: `audio/${codec.name}`, clockRate: codec.clockRate, channels: codec.channels, payloadType: codec.payloadType }],
        encodings: [{ ssrc: this.#ssrc }],
        headerExtensions: [{ uri: AUDIO_LEVEL_URI, id: AUDIO_LEVEL_EXTENSION_ID }],
      },
    });
    this.#producerId = producerId;
    this.#target = { ip: transport.ip, port: transport.port };
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** The signaling URL of the bridge this participant is on (after any redirect). */
  get url(): string {
    return this.#client.url;
  }

  /** Other visible participants (for "you are the only participant"). */
  get others(): number {
    return this.#others.size;
  }

  /** Whether the room was being recorded when the caller joined. */
  get recorded(): boolean {
    return this.#recordings.size > 0;
  }

  /** Forwards one packet of the caller's voice, with its level, unless muted. */
  forward(packet: RtpPacket, codec: AudioCodec): void {
    const target = this.#target;
    if (!target || this.#muted || this.#room.closed) return;
    let level = 127;
    try {
      level = levelDbov(codec.decode(packet.payload));
    } catch {
      return; // undecodable: the room would not hear it either
    }
    const out = rtpPacket({
      payloadType: this.#codec.payloadType,
      sequence: this.#sequence,
      timestamp: packet.timestamp,
      ssrc: this.#ssrc,
      marker: packet.marker,
      payload: packet.payload,
      extension: audioLevelExtension(level, level < 127),
    });
    this.#sequence = (this.#sequence + 1) & 0xffff;
    this.#room.socket.rtp.send(out, target.port, target.ip);
  }

  /** Mute or unmute; the room sees the caller's microphone state change. */
  async setMuted(muted: boolean): Promise<void> {
    this.#muted = muted;
    if (this.#producerId) await this.#client.request('setProducerPaused', { producerId: this.#producerId, paused: muted });
  }

  async setHandRaised(raised: boolean): Promise<void> {
    await this.#client.request('setHandRaised', { raised });
  }

  leave(): void {
    this.removeAllListeners();
    this.#client.close();
  }
}
