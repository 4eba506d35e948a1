// What we send and what we receive in a meeting: the mediasoup-client device,
// one send and one receive transport, a producer per local source and a
// consumer per remote one. Built on each join and torn down when the
// connection drops or the bridge replaces its media server; the local tracks
// and whether they are on outlive that, so a rebuild sends what was sent.
import { signal } from '@preact/signals';
import { Device } from 'mediasoup-client';
import type { Consumer, IceCandidate, Producer, RtpCapabilities, RtpEncodingParameters, Transport } from 'mediasoup-client/types';
import type { ConsumerInfo, IceServer, MediaSource, RequestData, RequestMethod, ResponseData } from '../../../protocol/protocol.ts';
import type { SignalingClient } from '../../../protocol/SignalingClient.ts';
import type { MediaEndpoint } from './e2eeSession.ts';
import { spatialLayerForHeight } from './layers.ts';

export interface RemoteMedia {
  consumer: Consumer;
  peerId: string;
  source: MediaSource;
}

export interface InboundStats {
  peerId: string;
  source: MediaSource;
  kind: 'audio' | 'video';
  bytesReceived: number;
  framesDecoded: number;
  audioLevel: number;
  totalAudioEnergy: number;
  frameHeight: number;
}

/** Three simulcast layers; receivers pick the one that fits their tile. */
const CAMERA_ENCODINGS: RtpEncodingParameters[] = [
  { rid: 'r0', scaleResolutionDownBy: 4, maxBitrate: 150_000, scalabilityMode: 'L1T3' },
  { rid: 'r1', scaleResolutionDownBy: 2, maxBitrate: 500_000, scalabilityMode: 'L1T3' },
  { rid: 'r2', scaleResolutionDownBy: 1, maxBitrate: 1_200_000, scalabilityMode: 'L1T3' },
];
const SCREEN_ENCODINGS: RtpEncodingParameters[] = [{ maxBitrate: 2_500_000 }];
/**
 * A media connection that has not come up by then will not: browsers connect
 * within a second or two, but take 10-30 s to declare ICE failed, and the
 * tiles stay black meanwhile.
 */
const MEDIA_CONNECT_TIMEOUT_MS = 8000;

/** A request whose failure the conference shows the user; undefined when it failed or could not be sent. */
export type UserRequest = <M extends RequestMethod>(method: M, data: RequestData<M>) => Promise<ResponseData<M> | undefined>;

export interface ConferenceMediaOptions {
  microphone: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  /** Whether we send at all: a recorder, or a join token without `publish`, only receives. */
  sends(): boolean;
  request: UserRequest;
  /** Tells the user a problem. */
  notice(text: string): void;
  /** Media problems found while joining or reconnecting are the connection's to report, not ours. */
  isConnected(): boolean;
  /** Each new sender and receiver, before it carries a frame (end-to-end encryption hooks in here). */
  created(endpoint: MediaEndpoint): void;
}

export class ConferenceMedia {
  readonly micOn = signal(false);
  readonly cameraTrack = signal<MediaStreamTrack | null>(null);
  readonly screenTrack = signal<MediaStreamTrack | null>(null);
  readonly remoteMedia = signal<ReadonlyMap<string, RemoteMedia>>(new Map());
  /** Why media cannot connect while it cannot (the tiles are black meanwhile); null when it is fine. */
  readonly mediaProblem = signal<string | null>(null);

  readonly #options: ConferenceMediaOptions;
  #microphone: MediaStreamTrack | null;
  #sendTransport: Transport | undefined;
  #recvTransport: Transport | undefined;
  readonly #producers = new Map<MediaSource, Producer>();
  readonly #preferredLayers = new Map<string, number>();
  /** The TURN servers and credentials of the latest join or media restart, for the transports made after it. */
  #iceServers: IceServer[] = [];
  /** Bumped whenever media is torn down, so late async work from before is dropped. */
  #generation = 0;

  constructor(options: ConferenceMediaOptions) {
    this.#options = options;
    this.#microphone = options.microphone;
    this.micOn.value = !!options.microphone?.enabled;
    this.cameraTrack.value = options.camera;
  }

  get hasMicrophone(): boolean {
    return this.#microphone !== null && this.#microphone.readyState === 'live';
  }

  // ---------------------------------------------------------------------------
  // Local controls

  async setMicOn(on: boolean): Promise<void> {
    const producer = this.#producers.get('mic');
    this.micOn.value = on;
    if (this.#microphone) this.#microphone.enabled = on;
    if (!producer) return;
    if (on) producer.resume();
    else producer.pause();
    await this.#options.request('setProducerPaused', { producerId: producer.id, paused: !on });
  }

  /** Camera off releases the device (its light goes out); on opens it again. */
  async setCamera(track: MediaStreamTrack | null): Promise<void> {
    const previous = this.cameraTrack.value;
    this.cameraTrack.value = track;
    await this.#closeProducer('camera');
    previous?.stop();
    if (track) await this.#produce('camera', track);
  }

  async setScreen(track: MediaStreamTrack | null): Promise<void> {
    const previous = this.screenTrack.value;
    this.screenTrack.value = track;
    await this.#closeProducer('screen');
    previous?.stop();
    if (!track) return;
    track.addEventListener('ended', () => {
      if (this.screenTrack.value === track) void this.setScreen(null);
    });
    await this.#produce('screen', track);
  }

  /** Switch microphones without leaving. */
  async replaceMicrophone(track: MediaStreamTrack): Promise<void> {
    const previous = this.#microphone;
    this.#microphone = track;
    track.enabled = this.micOn.value;
    const producer = this.#producers.get('mic');
    if (producer) await producer.replaceTrack({ track });
    else await this.#produce('mic', track);
    previous?.stop();
  }

  /** The receiving tile's height decides which simulcast layer is worth sending us. */
  setVideoHeight(consumerId: string, height: number): void {
    const layer = spatialLayerForHeight(height);
    if (this.#preferredLayers.get(consumerId) === layer) return;
    this.#preferredLayers.set(consumerId, layer);
    void this.#options.request('setPreferredLayers', { consumerId, spatialLayer: layer });
  }

  /** What we receive from each remote peer (used by the stats view and tests). */
  async inboundStats(): Promise<InboundStats[]> {
    const result: InboundStats[] = [];
    for (const media of this.remoteMedia.value.values()) {
      // A consumer may close while we ask (its sender left): it has nothing more to tell.
      const report = media.consumer.closed ? undefined : await media.consumer.getStats().catch(() => undefined);
      if (!report) continue;
      for (const stat of report.values()) {
        if (stat.type !== 'inbound-rtp') continue;
        result.push({
          peerId: media.peerId,
          source: media.source,
          kind: media.consumer.kind,
          bytesReceived: stat.bytesReceived ?? 0,
          framesDecoded: stat.framesDecoded ?? 0,
          audioLevel: stat.audioLevel ?? 0,
          totalAudioEnergy: stat.totalAudioEnergy ?? 0,
          frameHeight: stat.frameHeight ?? 0,
        });
      }
    }
    return result;
  }

  /** The meeting is over: release the devices (their lights go out). */
  stopTracks(): void {
    this.#microphone?.stop();
    this.cameraTrack.value?.stop();
    this.screenTrack.value?.stop();
  }

  /** We may not send: the camera and microphone are let go (their lights go out), not kept open for nothing. */
  #releaseDevices(): void {
    this.stopTracks();
    this.#microphone = null;
    this.micOn.value = false;
    this.cameraTrack.value = null;
    this.screenTrack.value = null;
  }

  // ---------------------------------------------------------------------------
  // Transports, producers, consumers

  /** Each join and media restart brings its own TURN credentials (or none); the transports made after it use them. */
  useIceServers(iceServers: IceServer[] | undefined): void {
    this.#iceServers = iceServers ?? [];
  }

  /** Receives what the room sends, then sends ours, over `client` (the connection just joined). */
  async setUp(routerRtpCapabilities: RtpCapabilities, client: SignalingClient): Promise<void> {
    const generation = this.#generation;
    const device = new Device();
    await device.load({ routerRtpCapabilities });
    // Receive first: the room appears as soon as possible, then we send.
    const recv = await this.#createTransport(device, 'recv', client);
    if (generation !== this.#generation) return recv.close();
    this.#recvTransport = recv;
    await this.#options.request('subscribe', { transportId: recv.id, rtpCapabilities: device.rtpCapabilities });
    if (generation !== this.#generation) return;
    if (!this.#options.sends()) return this.#releaseDevices();
    const send = await this.#createTransport(device, 'send', client);
    // Torn down meanwhile (we left, or the connection dropped): the devices may be let go already.
    if (generation !== this.#generation) return send.close();
    this.#sendTransport = send;
    if (this.#microphone) await this.#produce('mic', this.#microphone, !this.micOn.value);
    if (this.cameraTrack.value) await this.#produce('camera', this.cameraTrack.value);
    if (this.screenTrack.value) await this.#produce('screen', this.screenTrack.value);
  }

  tearDown(): void {
    this.#generation++;
    this.mediaProblem.value = null;
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
    this.#producers.clear();
    this.#preferredLayers.clear();
    this.remoteMedia.value = new Map();
  }

  async receive(info: ConsumerInfo): Promise<void> {
    const transport = this.#recvTransport;
    if (!transport || transport.closed) return;
    let consumer: Consumer;
    try {
      consumer = await transport.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters,
        onRtpReceiver: (rtp) => this.#options.created({ side: 'receive', kind: info.kind, peerId: info.peerId, rtp }),
      });
    } catch (error) {
      if (transport.closed) return; // torn down under it: whoever tore it down says why
      this.#options.notice(`Could not receive a ${info.kind} stream: ${(error as Error).message}`);
      return;
    }
    if (transport.closed) return;
    const next = new Map(this.remoteMedia.value);
    next.set(consumer.id, { consumer, peerId: info.peerId, source: info.source });
    this.remoteMedia.value = next;
    await this.#options.request('resumeConsumer', { consumerId: consumer.id });
  }

  dropConsumer(consumerId: string): void {
    const media = this.remoteMedia.value.get(consumerId);
    if (!media) return;
    media.consumer.close();
    this.#preferredLayers.delete(consumerId);
    const next = new Map(this.remoteMedia.value);
    next.delete(consumerId);
    this.remoteMedia.value = next;
  }

  async #createTransport(device: Device, direction: 'send' | 'recv', client: SignalingClient): Promise<Transport> {
    const params = { ...(await client.request('createWebRtcTransport', { direction })), iceServers: this.#iceServers };
    const transport =
      direction === 'send' ? device.createSendTransport(params) : device.createRecvTransport(params);
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      client.request('connectWebRtcTransport', { transportId: transport.id, dtlsParameters }).then(() => callback(), errback);
    });
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const source = appData.source as MediaSource;
      const paused = !!appData.paused;
      client
        .request('produce', { transportId: transport.id, kind, source, rtpParameters, paused })
        .then(({ producerId }) => callback({ id: producerId }), errback);
    });
    this.#watchConnection(transport, params.iceCandidates, client);
    return transport;
  }

  /**
   * Says so when the media connection does not come up or fails, with the
   * reason where the browser can tell, and retries with an ICE restart until
   * it connects (or the transport is replaced).
   */
  #watchConnection(transport: Transport, serverCandidates: IceCandidate[], client: SignalingClient): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failed = async () => {
      clearTimeout(timer);
      if (transport.closed || !this.#options.isConnected()) return;
      this.mediaProblem.value = `Media could not connect: ${await unreachableReason(transport, serverCandidates)}. Retrying…`;
      try {
        const { iceParameters, iceServers } = await client.request('restartIce', { transportId: transport.id });
        // Fresh TURN credentials first: coturn refuses a new allocation with the join's once they expire.
        if (iceServers) await transport.updateIceServers({ iceServers });
        await transport.restartIce({ iceParameters });
        timer = setTimeout(() => void failed(), MEDIA_CONNECT_TIMEOUT_MS);
      } catch {
        // The signaling reconnect builds new transports.
      }
    };
    transport.on('connectionstatechange', (state) => {
      if (state === 'connecting' && timer === undefined) timer = setTimeout(() => void failed(), MEDIA_CONNECT_TIMEOUT_MS);
      else if (state === 'connected') {
        clearTimeout(timer);
        this.mediaProblem.value = null;
      } else if (state === 'failed') void failed();
      else if (state === 'closed') clearTimeout(timer);
    });
  }

  async #produce(source: MediaSource, track: MediaStreamTrack, paused = false): Promise<void> {
    const transport = this.#sendTransport;
    if (!transport) return; // produced once connected
    if (track.readyState === 'ended') return this.#stoppedBeforeSending(source);
    try {
      const producer = await transport.produce({
        track,
        encodings: source === 'camera' ? CAMERA_ENCODINGS : source === 'screen' ? SCREEN_ENCODINGS : undefined,
        codecOptions: source === 'mic' ? { opusDtx: true, opusFec: true } : { videoGoogleStartBitrate: 1000 },
        stopTracks: false,
        zeroRtpOnPause: true,
        onRtpSender: (rtp) => this.#options.created({ side: 'send', kind: track.kind as 'audio' | 'video', rtp }),
        appData: { source, paused },
      });
      if (paused) producer.pause();
      this.#producers.set(source, producer);
    } catch (error) {
      if (transport.closed) return; // torn down under it: whoever tore it down says why
      this.#options.notice(`Could not send your ${source === 'mic' ? 'microphone' : source}: ${(error as Error).message}`);
    }
  }

  /**
   * The device stopped on its own before we could send it (unplugged, taken
   * by another application, its capture failed): it shows as off, not as a
   * black tile, and turning it on opens it again.
   */
  #stoppedBeforeSending(source: MediaSource): void {
    if (source === 'mic') this.micOn.value = false;
    else if (source === 'camera') this.cameraTrack.value = null;
    else this.screenTrack.value = null;
    const what = source === 'mic' ? 'microphone' : source === 'camera' ? 'camera' : 'screen share';
    this.#options.notice(`Your ${what} stopped before it could be sent. Turn it on again to restart it.`);
  }

  async #closeProducer(source: MediaSource): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    this.#producers.delete(source);
    producer.close();
    await this.#options.request('closeProducer', { producerId: producer.id });
  }
}

/**
 * Why the browser could not reach the media server, as far as its ICE stats
 * tell: no candidate pair at all means it had no address to even try from
 * (e.g. Firefox pairs nothing with a server that announces only loopback).
 */
async function unreachableReason(transport: Transport, serverCandidates: IceCandidate[]): Promise<string> {
  const routes = new Map<string, string[]>();
  for (const c of serverCandidates) {
    const address = `${c.address.includes(':') ? `[${c.address}]` : c.address}:${c.port}`;
    routes.set(address, [...(routes.get(address) ?? []), c.protocol.toUpperCase()]);
  }
  const tried = [...routes].map(([address, protocols]) => `${protocols.join(' and ')} to ${address}`).join(', ');
  const stats = await transport.getStats().catch(() => new Map());
  const pairs = [...stats.values()].filter((s: { type: string }) => s.type === 'candidate-pair');
  if (pairs.length === 0) return `this browser found no network path to the media server (${tried})`;
  return `no route to the media server: ${tried} failed`;
}
