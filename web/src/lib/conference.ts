// The browser side of a meeting: signaling, mediasoup-client transports, what
// we send and what we receive, exposed as signals the UI renders from. It
// reconnects on its own when the connection drops and rebuilds its media when
// the bridge asks it to.
import { batch, signal } from '@preact/signals';
import { Device } from 'mediasoup-client';
import type { Consumer, IceCandidate, Producer, RtpCapabilities, RtpEncodingParameters, Transport } from 'mediasoup-client/types';
import type {
  ChatMessage,
  ConsumerInfo,
  DialIn,
  DialOutCall,
  MediaSource,
  PeerInfo,
  RecordingInfo,
  RequestData,
  RequestMethod,
  ResponseData,
} from '../../../protocol/protocol.ts';
import { FINAL_RECORDING_STATES, recordingStateSchema, SIGNALING_PATH } from '../../../protocol/protocol.ts';
import { SignalingClient, SignalingError } from '../../../protocol/SignalingClient.ts';
import { spatialLayerForHeight } from './layers.ts';

export type ConferenceStatus = 'connecting' | 'connected' | 'reconnecting' | 'ended';
export type EndReason = 'left' | 'kicked' | 'roomClosed' | 'roomFull' | 'passwordRequired' | 'failed';

/** Join refusals that end the attempt for good (others are retried). */
const REFUSALS: ReadonlySet<string> = new Set(['roomFull', 'passwordRequired']);
function refusalOf(error: unknown): 'roomFull' | 'passwordRequired' | undefined {
  return error instanceof SignalingError && REFUSALS.has(error.code) ? (error.code as 'roomFull' | 'passwordRequired') : undefined;
}

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
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000];
/**
 * A media connection that has not come up by then will not: browsers connect
 * within a second or two, but take 10-30 s to declare ICE failed, and the
 * tiles stay black meanwhile.
 */
const MEDIA_CONNECT_TIMEOUT_MS = 8000;
/** Recording states in the order they happen. */
const STATE_ORDER = recordingStateSchema.options;

export interface ConferenceOptions {
  room: string;
  displayName: string;
  microphone: MediaStreamTrack | null;
  camera: MediaStreamTrack | null;
  /** For a locked room. */
  password?: string;
  /** A recorder joins hidden, with the bridge's service secret, and only receives. */
  kind?: 'web' | 'recorder';
  secret?: string;
}

export class Conference {
  readonly room: string;
  readonly status = signal<ConferenceStatus>('connecting');
  readonly endReason = signal<EndReason | null>(null);
  readonly selfId = signal<string | null>(null);
  readonly displayName: string;
  readonly kind: 'web' | 'recorder';
  readonly participants = signal<ReadonlyMap<string, PeerInfo>>(new Map());
  readonly remoteMedia = signal<ReadonlyMap<string, RemoteMedia>>(new Map());
  readonly activeSpeakerId = signal<string | null>(null);
  /** Loudness 0..1 of each peer currently speaking. */
  readonly levels = signal<ReadonlyMap<string, number>>(new Map());
  readonly chat = signal<readonly ChatMessage[]>([]);
  /** Phone numbers and PIN that reach this room, once joined. */
  readonly dialIn = signal<DialIn | null>(null);
  readonly locked = signal(false);
  /** Whether phones can be invited (a SIP gateway with a trunk is connected). */
  readonly dialOutAvailable = signal(false);
  /** Phone invitations, under way and recently finished, by id. */
  readonly dialOuts = signal<ReadonlyMap<string, DialOutCall>>(new Map());
  /** Recordings and live streams under way, by id; ended ones leave. */
  readonly recordings = signal<ReadonlyMap<string, RecordingInfo>>(new Map());
  /** The latest recording to finish or fail: the recordings list reloads on it. */
  readonly lastEndedRecording = signal<RecordingInfo | null>(null);
  readonly micOn = signal(false);
  readonly cameraTrack = signal<MediaStreamTrack | null>(null);
  readonly screenTrack = signal<MediaStreamTrack | null>(null);
  readonly handRaised = signal(false);
  /** Why media cannot connect while it cannot (the tiles are black meanwhile); null when it is fine. */
  readonly mediaProblem = signal<string | null>(null);
  /** Problems worth telling the user, newest last. */
  readonly notices = signal<readonly { id: number; text: string }[]>([]);

  #microphone: MediaStreamTrack | null;
  readonly #password: string | undefined;
  readonly #secret: string | undefined;
  #client: SignalingClient | undefined;
  #sendTransport: Transport | undefined;
  #recvTransport: Transport | undefined;
  readonly #producers = new Map<MediaSource, Producer>();
  readonly #preferredLayers = new Map<string, number>();
  /** Bumped whenever media is torn down, so late async work from before is dropped. */
  #generation = 0;
  #noticeId = 0;
  /** Late updates of these are dropped, so an ended recording does not come back. */
  readonly #endedRecordings = new Set<string>();
  /** Recording problems already told, by recording id and text. */
  readonly #reportedProblems = new Set<string>();

  constructor(options: ConferenceOptions) {
    this.room = options.room;
    this.displayName = options.displayName;
    this.#microphone = options.microphone;
    this.#password = options.password;
    this.kind = options.kind ?? 'web';
    this.#secret = options.secret;
    this.micOn.value = !!options.microphone?.enabled;
    this.cameraTrack.value = options.camera;
  }

  /** Connects and joins; afterwards the conference keeps itself connected. */
  async start(): Promise<void> {
    try {
      await this.#connect();
      this.status.value = 'connected';
    } catch (error) {
      if (this.status.value !== 'ended') this.#end(refusalOf(error) ?? 'failed');
      throw error;
    }
  }

  leave(): void {
    this.#client?.close();
    this.#end('left');
  }

  // ---------------------------------------------------------------------------
  // Local controls

  get hasMicrophone(): boolean {
    return this.#microphone !== null && this.#microphone.readyState === 'live';
  }

  async setMicOn(on: boolean): Promise<void> {
    const producer = this.#producers.get('mic');
    this.micOn.value = on;
    if (this.#microphone) this.#microphone.enabled = on;
    if (!producer) return;
    if (on) producer.resume();
    else producer.pause();
    await this.#request('setProducerPaused', { producerId: producer.id, paused: !on });
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

  async setHandRaised(raised: boolean): Promise<void> {
    this.handRaised.value = raised;
    await this.#request('setHandRaised', { raised });
  }

  /** Locks the room with a digit password, or unlocks it (null). */
  async setRoomPassword(password: string | null): Promise<boolean> {
    return (await this.#request('setRoomPassword', { password })) !== undefined;
  }

  async muteParticipant(peerId: string): Promise<void> {
    await this.#request('muteParticipant', { peerId });
  }

  /** Rings a phone into the room; progress arrives in `dialOuts`. */
  async dialOut(number: string): Promise<boolean> {
    const response = await this.#request('dialOut', { number });
    if (response) this.#updateDialOut(response.call);
    return response !== undefined;
  }

  async cancelDialOut(callId: string): Promise<void> {
    await this.#request('cancelDialOut', { callId });
  }

  /** Records to a file and/or streams; progress arrives in `recordings`. */
  async startRecording(options: RequestData<'startRecording'>): Promise<boolean> {
    const response = await this.#request('startRecording', options, (error) =>
      error instanceof SignalingError && error.code === 'unavailable' ? `No recorder available: ${error.message}` : error.message,
    );
    if (response) this.#updateRecording(response.recording);
    return response !== undefined;
  }

  async stopRecording(recordingId: string): Promise<void> {
    await this.#request('stopRecording', { recordingId });
  }

  async sendChat(text: string): Promise<void> {
    const response = await this.#request('chat', { text });
    if (response) this.chat.value = [...this.chat.value, response.message];
  }

  /** The receiving tile's height decides which simulcast layer is worth sending us. */
  setVideoHeight(consumerId: string, height: number): void {
    const layer = spatialLayerForHeight(height);
    if (this.#preferredLayers.get(consumerId) === layer) return;
    this.#preferredLayers.set(consumerId, layer);
    void this.#request('setPreferredLayers', { consumerId, spatialLayer: layer });
  }

  /** What we receive from each remote peer (used by the stats view and tests). */
  async inboundStats(): Promise<InboundStats[]> {
    const result: InboundStats[] = [];
    for (const media of this.remoteMedia.value.values()) {
      const report = await media.consumer.getStats();
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

  dismissNotice(id: number): void {
    this.notices.value = this.notices.value.filter((n) => n.id !== id);
  }

  // ---------------------------------------------------------------------------
  // Connection

  async #connect(): Promise<void> {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${SIGNALING_PATH}`;
    const client = await SignalingClient.connect(url);
    this.#client = client;
    this.#listen(client);
    const joined = await client.request('join', {
      room: this.room,
      displayName: this.displayName,
      kind: this.kind,
      password: this.#password,
      secret: this.#secret,
    });
    batch(() => {
      this.selfId.value = joined.peerId;
      this.participants.value = new Map(joined.peers.map((p) => [p.id, p]));
      this.chat.value = joined.chat;
      this.activeSpeakerId.value = joined.activeSpeakerId;
      this.dialIn.value = joined.dialIn;
      this.locked.value = joined.locked;
      this.dialOutAvailable.value = joined.dialOutAvailable;
      this.dialOuts.value = new Map(joined.dialOuts.map((c) => [c.id, c]));
      this.recordings.value = new Map(joined.recordings.map((r) => [r.id, r]));
    });
    await this.#setUpMedia(joined.routerRtpCapabilities);
    if (this.handRaised.value) await client.request('setHandRaised', { raised: true });
  }

  #listen(client: SignalingClient): void {
    client.on('peerJoined', ({ peer }) => this.#updateParticipant(peer));
    client.on('peerUpdated', ({ peer }) => this.#updateParticipant(peer));
    client.on('peerLeft', ({ peerId }) => {
      const next = new Map(this.participants.value);
      next.delete(peerId);
      this.participants.value = next;
    });
    client.on('newConsumer', ({ consumer }) => void this.#receive(consumer));
    client.on('consumerClosed', ({ consumerId }) => this.#dropConsumer(consumerId));
    client.on('activeSpeaker', ({ peerId }) => (this.activeSpeakerId.value = peerId));
    client.on('audioLevels', ({ levels }) => {
      // dBov -70..0 to 0..1, on a curve that makes normal speech visible.
      this.levels.value = new Map(levels.map((l) => [l.peerId, Math.max(0, Math.min(1, (l.volume + 70) / 60)) ** 1.5]));
    });
    client.on('chat', ({ message }) => (this.chat.value = [...this.chat.value, message]));
    client.on('mutedByModerator', ({ by }) => {
      void this.setMicOn(false);
      this.notice(`${by} muted your microphone`);
    });
    client.on('roomLocked', ({ locked, by }) => {
      this.locked.value = locked;
      if (by !== this.displayName) this.notice(`${by} ${locked ? 'locked' : 'unlocked'} the meeting`);
    });
    client.on('dialOutUpdated', ({ call }) => this.#updateDialOut(call));
    client.on('recordingUpdated', ({ recording }) => this.#updateRecording(recording));
    client.on('mediaRestart', ({ routerRtpCapabilities }) => void this.#restartMedia(routerRtpCapabilities));
    // A restarting server is a dropped connection like any other: reconnect.
    client.on('disconnected', ({ reason }) => reason !== 'shuttingDown' && this.#end(reason));
    client.onClose(() => {
      if (this.#client === client && this.status.value !== 'ended') void this.#reconnect();
    });
  }

  async #reconnect(): Promise<void> {
    this.status.value = 'reconnecting';
    this.#tearDownMedia();
    for (let attempt = 0; this.status.value === 'reconnecting'; attempt++) {
      await delay(RECONNECT_DELAYS_MS[Math.min(attempt, RECONNECT_DELAYS_MS.length - 1)]!);
      if (this.status.value !== 'reconnecting') return;
      try {
        await this.#connect();
        this.status.value = 'connected';
        return;
      } catch (error) {
        this.#client?.close();
        const refusal = refusalOf(error);
        if (refusal) return this.#end(refusal);
      }
    }
  }

  async #restartMedia(routerRtpCapabilities: RtpCapabilities): Promise<void> {
    this.#tearDownMedia();
    try {
      await this.#setUpMedia(routerRtpCapabilities);
    } catch (error) {
      this.notice(`Could not restore media: ${(error as Error).message}`);
    }
  }

  #end(reason: EndReason): void {
    if (this.status.value === 'ended') return;
    this.endReason.value = reason;
    this.status.value = 'ended';
    this.#tearDownMedia();
    this.#microphone?.stop();
    this.cameraTrack.value?.stop();
    this.screenTrack.value?.stop();
  }

  // ---------------------------------------------------------------------------
  // Media

  async #setUpMedia(routerRtpCapabilities: RtpCapabilities): Promise<void> {
    const generation = this.#generation;
    const device = new Device();
    await device.load({ routerRtpCapabilities });
    // Receive first: the room appears as soon as possible, then we send.
    const recv = await this.#createTransport(device, 'recv');
    if (generation !== this.#generation) return recv.close();
    this.#recvTransport = recv;
    await this.#request('subscribe', { transportId: recv.id, rtpCapabilities: device.rtpCapabilities });
    if (generation !== this.#generation || this.kind === 'recorder') return; // a recorder sends nothing
    this.#sendTransport = await this.#createTransport(device, 'send');
    if (this.#microphone) await this.#produce('mic', this.#microphone, !this.micOn.value);
    if (this.cameraTrack.value) await this.#produce('camera', this.cameraTrack.value);
    if (this.screenTrack.value) await this.#produce('screen', this.screenTrack.value);
  }

  async #createTransport(device: Device, direction: 'send' | 'recv'): Promise<Transport> {
    const client = this.#client!;
    const params = await client.request('createWebRtcTransport', { direction });
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
    this.#watchConnection(transport, params.iceCandidates);
    return transport;
  }

  /**
   * Says so when the media connection does not come up or fails, with the
   * reason where the browser can tell, and retries with an ICE restart until
   * it connects (or the transport is replaced).
   */
  #watchConnection(transport: Transport, serverCandidates: IceCandidate[]): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const failed = async () => {
      clearTimeout(timer);
      if (transport.closed || this.status.value !== 'connected') return;
      this.mediaProblem.value = `Media could not connect: ${await unreachableReason(transport, serverCandidates)}. Retrying…`;
      try {
        const { iceParameters } = await this.#client!.request('restartIce', { transportId: transport.id });
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
    if (!transport || this.status.value === 'ended') return; // produced once connected
    try {
      const producer = await transport.produce({
        track,
        encodings: source === 'camera' ? CAMERA_ENCODINGS : source === 'screen' ? SCREEN_ENCODINGS : undefined,
        codecOptions: source === 'mic' ? { opusDtx: true, opusFec: true } : { videoGoogleStartBitrate: 1000 },
        stopTracks: false,
        zeroRtpOnPause: true,
        appData: { source, paused },
      });
      if (paused) producer.pause();
      this.#producers.set(source, producer);
    } catch (error) {
      this.notice(`Could not send your ${source === 'mic' ? 'microphone' : source}: ${(error as Error).message}`);
    }
  }

  async #closeProducer(source: MediaSource): Promise<void> {
    const producer = this.#producers.get(source);
    if (!producer) return;
    this.#producers.delete(source);
    producer.close();
    await this.#request('closeProducer', { producerId: producer.id });
  }

  async #receive(info: ConsumerInfo): Promise<void> {
    const transport = this.#recvTransport;
    if (!transport || transport.closed) return;
    let consumer: Consumer;
    try {
      consumer = await transport.consume({
        id: info.id,
        producerId: info.producerId,
        kind: info.kind,
        rtpParameters: info.rtpParameters,
      });
    } catch (error) {
      this.notice(`Could not receive a ${info.kind} stream: ${(error as Error).message}`);
      return;
    }
    if (transport.closed) return;
    const next = new Map(this.remoteMedia.value);
    next.set(consumer.id, { consumer, peerId: info.peerId, source: info.source });
    this.remoteMedia.value = next;
    await this.#request('resumeConsumer', { consumerId: consumer.id });
  }

  #dropConsumer(consumerId: string): void {
    const media = this.remoteMedia.value.get(consumerId);
    if (!media) return;
    media.consumer.close();
    this.#preferredLayers.delete(consumerId);
    const next = new Map(this.remoteMedia.value);
    next.delete(consumerId);
    this.remoteMedia.value = next;
  }

  #tearDownMedia(): void {
    this.#generation++;
    this.mediaProblem.value = null;
    this.#sendTransport?.close();
    this.#recvTransport?.close();
    this.#sendTransport = undefined;
    this.#recvTransport = undefined;
    this.#producers.clear();
    this.#preferredLayers.clear();
    this.remoteMedia.value = new Map();
    this.levels.value = new Map();
  }

  #updateDialOut(call: DialOutCall): void {
    const next = new Map(this.dialOuts.value);
    next.set(call.id, call);
    this.dialOuts.value = next;
  }

  #updateRecording(recording: RecordingInfo): void {
    if (this.#endedRecordings.has(recording.id)) return;
    const known = this.recordings.value.get(recording.id);
    // The start response can arrive after the first progress notification.
    if (known && STATE_ORDER.indexOf(recording.state) < STATE_ORDER.indexOf(known.state)) return;
    this.#reportRecordingProblems(recording);
    const next = new Map(this.recordings.value);
    if (FINAL_RECORDING_STATES.has(recording.state)) {
      next.delete(recording.id);
      this.#endedRecordings.add(recording.id);
      this.lastEndedRecording.value = recording;
    } else {
      next.set(recording.id, recording);
    }
    this.recordings.value = next;
  }

  /** Failed destinations, failed recordings and survived crashes; a failure often repeats its destination's words, said once. */
  #reportRecordingProblems(recording: RecordingInfo): void {
    for (const stream of recording.streams) {
      if (stream.state === 'failed') this.#reportOnce(recording.id, 'Live stream failed', stream.error ?? `${stream.url} refused the stream`);
      else if (stream.error) this.#reportOnce(recording.id, 'Live stream', stream.error); // dropped, reconnecting
    }
    const what = recording.file ? 'Recording' : 'Live stream';
    if (recording.state === 'failed') {
      this.#reportOnce(recording.id, `${what} failed`, recording.error ?? 'the recorder gave up');
    } else if (recording.error && !recording.streams.some((s) => s.error === recording.error)) {
      // Trouble the recorder survived (a crashed capture restarted): people should know there may be a gap.
      this.#reportOnce(recording.id, what, recording.error);
    }
  }

  #reportOnce(recordingId: string, prefix: string, problem: string): void {
    const key = `${recordingId}\n${problem}`;
    if (this.#reportedProblems.has(key)) return;
    this.#reportedProblems.add(key);
    this.notice(`${prefix}: ${problem}`);
  }

  #updateParticipant(peer: PeerInfo): void {
    const next = new Map(this.participants.value);
    next.set(peer.id, peer);
    this.participants.value = next;
  }

  /** A request whose failure is shown to the user rather than thrown. */
  async #request<M extends RequestMethod>(
    method: M,
    data: RequestData<M>,
    describe: (error: Error) => string = (error) => error.message,
  ): Promise<ResponseData<M> | undefined> {
    if (!this.#client?.isOpen) return undefined;
    try {
      return await this.#client.request(method, data);
    } catch (error) {
      if (this.status.value === 'connected') this.notice(describe(error as Error));
      return undefined;
    }
  }

  /** Shows the user a problem (a toast). */
  notice(text: string): void {
    this.notices.value = [...this.notices.value.slice(-3), { id: ++this.#noticeId, text }];
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
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
