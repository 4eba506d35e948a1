import { EventEmitter } from 'node:events';
import type { RtpCapabilities } from 'mediasoup-client/types';
import type { Logger } from '../common/logger.ts';
import type { ConsumerInfo, DisconnectReason, PeerKind } from '../protocol/protocol.ts';
import { SignalingClient } from '../protocol/SignalingClient.ts';
import type { CodecName } from './codecs.ts';
import { Mixer } from './Mixer.ts';
import type { PortPool, SocketPair } from './PortPool.ts';
import { isRtcp, parseRtp } from './rtp.ts';
import { sourceAddressToward } from './sourceAddress.ts';

/** What the gateway can decode from the room: the router's audio codecs. */
const GATEWAY_RTP_CAPABILITIES: RtpCapabilities = {
  codecs: [
    { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 100 },
    { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, preferredPayloadType: 0 },
    { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, preferredPayloadType: 8 },
  ],
  headerExtensions: [],
};

/**
 * Why the listener left the room: the bridge ended it (its `disconnected`
 * reason), its connection broke, or we closed it (`left`).
 */
export type RoomAudioEnd = DisconnectReason | 'connectionLost' | 'left';

interface RoomAudioEvents {
  closed: [reason: RoomAudioEnd];
}

export interface RoomAudioOptions {
  room: string;
  bridgeUrl: string;
  serviceSecret: string | undefined;
  /**
   * The address the bridge sends our RTP to, and that our socket is bound to.
   * Default: the address this host sends from to reach the bridge's media.
   */
  mediaAddress?: string;
  ports: PortPool;
  logger: Logger;
  /** The room's password, if it is locked. */
  password?: string;
  /** Who the hidden peer is (default: the SIP gateway's service peer). */
  displayName?: string;
  kind?: PeerKind;
  /** Joining again because the connection to the room's bridge broke (see the join's `bridgeLost`). */
  bridgeLost?: boolean;
  /** Where the listener is (the join's `region`): a bridge of that region may serve it the room. */
  region?: string;
  /** Abandons the join: the socket closes. */
  signal?: AbortSignal;
  /** How long the socket may take to open (SignalingClient's default if unset). */
  connectTimeoutMs?: number;
}

/**
 * The gateway's ears in one room. A hidden service peer receives every audio
 * producer of the room on one plain transport into the room's Mixer (each
 * speaker decoded once; every phone leg hears everyone but itself).
 *
 * The same socket also sends the phone legs' audio to their producers.
 */
export class RoomAudio extends EventEmitter<RoomAudioEvents> {
  readonly room: string;
  readonly socket: SocketPair;
  /** Where the bridge reaches `socket`: the very address it is bound to and sends from. */
  readonly mediaAddress: string;
  readonly #client: SignalingClient;
  readonly #ports: PortPool;
  readonly #logger: Logger;
  readonly mixer = new Mixer();
  readonly #ssrcByConsumer = new Map<string, number>();
  /** The other live bridges, in the room's order, as the last join answered (where to go if this one dies). */
  readonly fallbacks: readonly string[];
  #closed = false;
  /** Why the bridge ended the listener, as it said before closing. */
  #endedBy: DisconnectReason | undefined;

  private constructor(options: RoomAudioOptions, client: SignalingClient, socket: SocketPair, mediaAddress: string, fallbacks: readonly string[]) {
    super();
    this.room = options.room;
    this.fallbacks = fallbacks;
    this.mediaAddress = mediaAddress;
    this.#client = client;
    this.#ports = options.ports;
    this.socket = socket;
    this.#logger = options.logger.child({ room: options.room });
    socket.rtp.on('message', (msg) => this.#onRtp(msg));
    socket.rtp.on('error', (error) => this.#logger.warn({ err: error }, 'room media socket error'));
    client.on('newConsumer', ({ consumer }) => void this.#addSource(consumer));
    client.on('consumerClosed', ({ consumerId }) => this.#removeSource(consumerId));
    client.on('mediaRestart', () => void this.#resubscribe());
    client.on('disconnected', (data) => (this.#endedBy = data.reason));
    client.onClose(() => this.close(this.#endedBy ?? 'connectionLost'));
  }

  static async open(options: RoomAudioOptions): Promise<RoomAudio> {
    const { signal } = options;
    signal?.throwIfAborted();
    const client = await SignalingClient.connect(options.bridgeUrl, { connectTimeoutMs: options.connectTimeoutMs });
    const abandon = () => client.close();
    signal?.addEventListener('abort', abandon, { once: true });
    let socket: SocketPair | undefined;
    try {
      signal?.throwIfAborted();
      const joined = await client.request('join', {
        room: options.room,
        displayName: options.displayName ?? 'SIP gateway',
        kind: options.kind ?? 'service',
        password: options.password,
        secret: options.serviceSecret,
        bridgeLost: options.bridgeLost,
        region: options.region,
      });
      const transport = await client.request('createPlainTransport', { comedia: false, rtcpMux: true });
      // The bridge accepts packets only from the tuple we declare (comedia off), so the
      // socket is bound to exactly that address: with a wildcard bind the kernel would
      // pick the source per destination, and on a host with several addresses it is
      // not the one declared (the all-in-one's phone audio was dropped that way).
      const address = options.mediaAddress ?? (await sourceAddressToward(transport.ip));
      socket = await options.ports.open(address);
      const audio = new RoomAudio(options, client, socket, address, joined.fallbacks);
      socket = undefined; // the listener's now: its close releases it
      try {
        await audio.#subscribe(transport.id);
      } catch (error) {
        audio.close();
        throw error;
      }
      return audio;
    } catch (error) {
      client.close();
      if (socket) options.ports.release(socket);
      throw error;
    } finally {
      signal?.removeEventListener('abort', abandon);
    }
  }

  /** The signaling URL the listener is connected to: the room's bridge (after any redirect). */
  get url(): string {
    return this.#client.url;
  }

  /** Receives the room's audio on a plain transport (a new one unless given) into our socket. */
  async #subscribe(transportId?: string): Promise<void> {
    const client = this.#client;
    const id = transportId ?? (await client.request('createPlainTransport', { comedia: false, rtcpMux: true })).id;
    await client.request('connectPlainTransport', { transportId: id, ip: this.mediaAddress, port: this.socket.port });
    await client.request('subscribe', { transportId: id, rtpCapabilities: GATEWAY_RTP_CAPABILITIES, kinds: ['audio'] });
  }

  /** The room moved to another media worker: its consumers are gone; subscribe again. */
  async #resubscribe(): Promise<void> {
    this.mixer.clear();
    this.#ssrcByConsumer.clear();
    try {
      await this.#subscribe();
      this.#logger.info('room audio restored after a media restart');
    } catch (error) {
      this.#logger.error({ err: error }, 'cannot restore room audio after a media restart');
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Leaves the room; `reason` is what 'closed' reports (the gateway closes a listener it judged lost as 'connectionLost'). */
  close(reason: RoomAudioEnd = 'left'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.close();
    this.#ports.release(this.socket);
    this.mixer.clear();
    this.emit('closed', reason);
  }

  async #addSource(consumer: ConsumerInfo): Promise<void> {
    const codecName = consumer.rtpParameters.codecs[0]?.mimeType.split('/')[1];
    const ssrc = consumer.rtpParameters.encodings?.[0]?.ssrc;
    if (!ssrc || !isCodecName(codecName)) {
      this.#logger.warn({ consumer: consumer.id, codecName }, 'cannot hear this producer');
      return;
    }
    this.mixer.addSource(ssrc, consumer.peerId, codecName);
    this.#ssrcByConsumer.set(consumer.id, ssrc);
    try {
      await this.#client.request('resumeConsumer', { consumerId: consumer.id });
    } catch (error) {
      this.#logger.warn({ err: error, consumer: consumer.id }, 'cannot resume consumer');
    }
  }

  #removeSource(consumerId: string): void {
    const ssrc = this.#ssrcByConsumer.get(consumerId);
    if (ssrc === undefined) return;
    this.#ssrcByConsumer.delete(consumerId);
    this.mixer.removeSource(ssrc);
  }

  #onRtp(msg: Buffer): void {
    if (isRtcp(msg)) return; // the bridge's reports on our producers and consumers
    const packet = parseRtp(msg);
    if (!packet) return;
    this.mixer.push(packet.ssrc, packet.sequence, packet.payload);
  }
}

function isCodecName(name: string | undefined): name is CodecName {
  return name === 'opus' || name === 'PCMU' || name === 'PCMA';
}
