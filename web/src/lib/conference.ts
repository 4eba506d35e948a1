// The browser side of a meeting, as the UI sees it: the connection to the
// bridge (bridgeConnection.ts), what we send and receive (conferenceMedia.ts)
// and what the room looks like (roomState.ts), tied together and exposed as
// signals the UI renders from. It routes each notification to the part it
// concerns and turns failed requests into notices.
import { computed, signal, type Signal } from '@preact/signals';
import { accessRefusal } from '../../../protocol/accessRules.ts';
import type { ParsedRequestData, RequestData, RequestMethod, ResponseData } from '../../../protocol/protocol.ts';
import { SignalingError, type SignalingClient } from '../../../protocol/SignalingClient.ts';
import { BridgeConnection } from './bridgeConnection.ts';
import { ConferenceMedia } from './conferenceMedia.ts';
import { E2eeSession } from './e2eeSession.ts';
import { initialRoomState, roomState, type RoomEvent, type RoomState } from './roomState.ts';

export { isWaiting, type EndReason, type Wait } from './bridgeConnection.ts';
export type { InboundStats } from './conferenceMedia.ts';

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
  /** A join token (the page's ?jwt=): our name, role and grants. */
  token?: string;
  /** Where we are (the page's ?region=): a bridge of that region may serve us the room. */
  region?: string;
}

export class Conference {
  readonly room: string;
  readonly displayName: string;
  readonly kind: 'web' | 'recorder';
  /** The room as the reducer has it; the room's signals below are views of it. */
  readonly #state: Signal<RoomState>;
  readonly #connection: BridgeConnection;
  readonly #media: ConferenceMedia;
  readonly #e2ee: E2eeSession;

  /** The meeting was end-to-end encrypted when we lost its bridge: a rejoin does not send in the clear. */
  #encryptedWhenLost = false;
  /** Our media set-up, held until E2EE is on again (see the join). */
  #heldMedia: (() => Promise<void>) | undefined;

  /** Our hand, which we keep: the bridge forgets it with the peer, and a rejoin is a new peer. */
  readonly handRaised = signal(false);
  /** What we show the room's REST (its recordings list and downloads): the bridge's token from our latest join. */
  readonly accessToken = signal<string | null>(null);

  constructor(options: ConferenceOptions) {
    this.room = options.room;
    this.displayName = options.displayName;
    this.kind = options.kind ?? 'web';
    this.#state = signal(initialRoomState(options.displayName));
    const e2eeCapable = this.kind === 'web' && E2eeSession.supported();
    this.#e2ee = new E2eeSession({
      capable: e2eeCapable,
      send: async (to, payload) => (await this.#request('sendE2eeMessage', { to, payload })) !== undefined,
      setEncrypting: async (encrypting) => void (await this.#request('setEncrypting', { encrypting })),
      notice: (text) => this.notice(text),
    });
    this.#media = new ConferenceMedia({
      microphone: options.microphone,
      camera: options.camera,
      sends: () => this.kind !== 'recorder' && this.may('produce'),
      request: (method, data) => this.#request(method, data),
      notice: (text) => this.notice(text),
      isConnected: () => this.#connection.isConnected,
      created: (endpoint) => this.#e2ee.attach(endpoint),
    });
    this.#connection = new BridgeConnection(
      {
        room: options.room,
        displayName: options.displayName,
        kind: this.kind,
        password: options.password,
        secret: options.secret,
        token: options.token,
        region: options.region,
        e2eeCapable,
      },
      {
        opened: (client) => this.#listen(client),
        joined: async (joined, client) => {
          this.#dispatch({ type: 'joined', joined });
          this.accessToken.value = joined.accessToken;
          this.#e2ee.selfId = joined.peerId;
          const wasEncrypted = this.#encryptedWhenLost;
          this.#encryptedWhenLost = false;
          this.#media.useIceServers(joined.iceServers);
          const setUpMedia = () => this.#media.setUp(joined.routerRtpCapabilities, client);
          // The meeting was end-to-end encrypted when we lost its bridge, and it moved (a bridge that
          // took it over starts it afresh, E2EE off): our media must not go out in the clear. A
          // moderator turns E2EE on again at once; anyone else waits for that with media held.
          if (wasEncrypted && !joined.e2ee && !(await this.#encryptAgain(client))) {
            this.#heldMedia = setUpMedia;
            this.notice('This meeting was end-to-end encrypted: your camera and microphone wait until a moderator turns encryption on again.');
            return;
          }
          // Before any media: with E2EE on, not one frame goes out or is played in the clear. The
          // worker is told at once (it drops every frame until it has keys), so the keys are made
          // while the transports connect rather than before.
          const e2ee = joined.e2ee || wasEncrypted ? this.#startE2ee(client) : undefined;
          await setUpMedia();
          await e2ee;
          if (this.handRaised.value) await client.request('setHandRaised', { raised: true });
        },
        lost: () => {
          // A rejoin is a new peer: new keys, exchanged afresh.
          if (this.#state.value.e2ee) this.#encryptedWhenLost = true;
          this.#heldMedia = undefined;
          void this.#e2ee.stop(false);
          this.#stopMedia();
        },
        ended: () => {
          this.#media.stopTracks();
          this.#e2ee.close();
        },
      },
    );
  }

  // ---------------------------------------------------------------------------
  // What the UI reads

  get status() {
    return this.#connection.status;
  }
  get endReason() {
    return this.#connection.endReason;
  }
  /** The bridge's words for a refused join. */
  get endDetail() {
    return this.#connection.endDetail;
  }
  get micOn() {
    return this.#media.micOn;
  }
  get cameraTrack() {
    return this.#media.cameraTrack;
  }
  get screenTrack() {
    return this.#media.screenTrack;
  }
  get remoteMedia() {
    return this.#media.remoteMedia;
  }
  get mediaProblem() {
    return this.#media.mediaProblem;
  }
  get hasMicrophone(): boolean {
    return this.#media.hasMicrophone;
  }
  readonly selfId = computed(() => this.#state.value.selfId);
  readonly role = computed(() => this.#state.value.role);

  /**
   * Whether we may take this action (the bridge's own rules): the UI shows
   * only the controls we may use. `data`: what the rule looks at, such as
   * whether a recording writes a file or streams.
   */
  may<M extends RequestMethod>(method: M, data: Partial<ParsedRequestData<M>> = {}): boolean {
    const { role, grants } = this.#state.value;
    return accessRefusal(role, grants, method, data as ParsedRequestData<M>) === null;
  }

  readonly participants = computed(() => this.#state.value.participants);
  readonly activeSpeakerId = computed(() => this.#state.value.activeSpeakerId);
  /** Loudness 0..1 of each peer currently speaking. */
  readonly levels = computed(() => this.#state.value.levels);
  readonly chat = computed(() => this.#state.value.chat);
  /** Phone numbers and PIN that reach this room, once joined. */
  readonly dialIn = computed(() => this.#state.value.dialIn);
  readonly locked = computed(() => this.#state.value.locked);
  /** Whether newcomers knock and wait to be let in. */
  readonly lobbyEnabled = computed(() => this.#state.value.lobbyEnabled);
  /** Who waits in the lobby, by knock id (moderators only; others are not told). */
  readonly knocks = computed(() => this.#state.value.knocks);
  /** Whether phones can be invited (a SIP gateway with a trunk is connected). */
  readonly dialOutAvailable = computed(() => this.#state.value.dialOutAvailable);
  /** Phone invitations, under way and recently finished, by id. */
  readonly dialOuts = computed(() => this.#state.value.dialOuts);
  /** Recordings and live streams under way, by id; ended ones leave. */
  readonly recordings = computed(() => this.#state.value.recordings);
  /** The latest recording to finish or fail: the recordings list reloads on it. */
  readonly lastEndedRecording = computed(() => this.#state.value.lastEndedRecording);
  /** Problems worth telling the user, newest last. */
  readonly notices = computed(() => this.#state.value.notices);
  /** The meeting is end-to-end encrypted. */
  readonly e2ee = computed(() => this.#state.value.e2ee);
  /** The verification code we share with each other participant, by peer id (while E2EE is on). */
  get verificationCodes() {
    return this.#e2ee.codes;
  }
  /** Participants whose frames we keep failing to decrypt. */
  get undecryptable() {
    return this.#e2ee.undecryptable;
  }
  /** Frames encrypted and decrypted since E2EE came on, by sender (used by tests). */
  get e2eeFrames() {
    return this.#e2ee.frames;
  }

  // ---------------------------------------------------------------------------
  // What the UI does

  /** Connects and joins; afterwards the conference keeps itself connected. */
  start(): Promise<void> {
    return this.#connection.start();
  }

  leave(): void {
    this.#connection.leave();
  }

  setMicOn(on: boolean): Promise<void> {
    return this.#media.setMicOn(on);
  }

  setCamera(track: MediaStreamTrack | null): Promise<void> {
    return this.#media.setCamera(track);
  }

  setScreen(track: MediaStreamTrack | null): Promise<void> {
    return this.#media.setScreen(track);
  }

  replaceMicrophone(track: MediaStreamTrack): Promise<void> {
    return this.#media.replaceMicrophone(track);
  }

  setVideoHeight(consumerId: string, height: number): void {
    this.#media.setVideoHeight(consumerId, height);
  }

  inboundStats() {
    return this.#media.inboundStats();
  }

  async setHandRaised(raised: boolean): Promise<void> {
    this.handRaised.value = raised;
    await this.#request('setHandRaised', { raised });
  }

  /** Locks the room with a digit password, or unlocks it (null). */
  async setRoomPassword(password: string | null): Promise<boolean> {
    return (await this.#request('setRoomPassword', { password })) !== undefined;
  }

  /** Turns the lobby on or off (off lets everyone waiting in). */
  async setLobby(enabled: boolean): Promise<void> {
    await this.#request('setLobby', { enabled });
  }

  /** Lets one knock in, or (no id) everyone waiting. */
  async admit(knockId?: string): Promise<void> {
    await this.#request('admit', { knockId });
  }

  /** Turns one knock away, or (no id) everyone waiting. */
  async deny(knockId?: string): Promise<void> {
    await this.#request('deny', { knockId });
  }

  async muteParticipant(peerId: string): Promise<void> {
    await this.#request('muteParticipant', { peerId });
  }

  /** Mutes every other participant's microphone. */
  async muteAll(): Promise<void> {
    await this.#request('muteAll', {});
  }

  async removeParticipant(peerId: string): Promise<void> {
    await this.#request('removeParticipant', { peerId });
  }

  /** Makes a participant a moderator too. */
  async promote(peerId: string): Promise<void> {
    await this.#request('promote', { peerId });
  }

  /** Ends the meeting for everyone (we are told so too, and the end screen says it). */
  async endMeeting(): Promise<void> {
    await this.#request('endMeeting', {});
  }

  /** Rings a phone into the room; progress arrives in `dialOuts`. */
  async dialOut(number: string): Promise<boolean> {
    const response = await this.#request('dialOut', { number });
    if (response) this.#dispatch({ type: 'dialOutUpdated', call: response.call });
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
    if (response) this.#dispatch({ type: 'recordingUpdated', recording: response.recording });
    return response !== undefined;
  }

  async stopRecording(recordingId: string): Promise<void> {
    await this.#request('stopRecording', { recordingId });
  }

  /** Turns end-to-end encryption on or off for everyone (moderators); a refusal says why. */
  async setE2ee(enabled: boolean): Promise<void> {
    await this.#request('setE2ee', { enabled });
  }

  async sendChat(text: string): Promise<void> {
    const response = await this.#request('chat', { text });
    if (response) this.#dispatch({ type: 'chat', message: response.message });
  }

  /** Shows the user a problem (a toast). */
  notice(text: string): void {
    this.#dispatch({ type: 'notice', text });
  }

  dismissNotice(id: number): void {
    this.#dispatch({ type: 'noticeDismissed', id });
  }

  // ---------------------------------------------------------------------------

  #dispatch(event: RoomEvent): void {
    this.#state.value = roomState(this.#state.value, event);
  }

  #listen(client: SignalingClient): void {
    const room = (event: RoomEvent) => this.#dispatch(event);
    client.on('peerJoined', (data) => room({ type: 'peerJoined', ...data }));
    client.on('peerUpdated', (data) => room({ type: 'peerUpdated', ...data }));
    client.on('peerLeft', (data) => {
      room({ type: 'peerLeft', ...data });
      this.#e2ee.peerLeft(data.peerId);
    });
    client.on('activeSpeaker', (data) => room({ type: 'activeSpeaker', ...data }));
    client.on('audioLevels', (data) => room({ type: 'audioLevels', ...data }));
    client.on('chat', (data) => room({ type: 'chat', ...data }));
    client.on('roomLocked', (data) => room({ type: 'roomLocked', ...data }));
    client.on('roleChanged', (data) => room({ type: 'roleChanged', ...data }));
    client.on('lobbyChanged', (data) => room({ type: 'lobbyChanged', ...data }));
    client.on('knocking', (data) => room({ type: 'knocking', ...data }));
    client.on('knockEnded', (data) => room({ type: 'knockEnded', ...data }));
    client.on('dialOutUpdated', (data) => room({ type: 'dialOutUpdated', ...data }));
    client.on('recordingUpdated', (data) => room({ type: 'recordingUpdated', ...data }));
    client.on('e2eeChanged', (data) => {
      room({ type: 'e2eeChanged', ...data });
      if (data.enabled) void this.#startE2ee(client).then(() => this.#releaseHeldMedia());
      else void this.#e2ee.stop(true);
    });
    client.on('e2eeMessage', ({ from, payload }) => this.#e2ee.receive(from, payload));
    client.on('mutedByModerator', (data) => {
      void this.#media.setMicOn(false);
      room({ type: 'mutedByModerator', ...data });
    });
    client.on('newConsumer', ({ consumer }) => void this.#media.receive(consumer));
    client.on('consumerClosed', ({ consumerId }) => this.#media.dropConsumer(consumerId));
    // The bridge replaced its media server: everything we had on the old one is gone.
    client.on('mediaRestart', ({ routerRtpCapabilities, iceServers }) => {
      this.#stopMedia();
      this.#media.useIceServers(iceServers);
      this.#media.setUp(routerRtpCapabilities, client).catch((error: Error) => this.notice(`Could not restore media: ${error.message}`));
    });
  }

  /** Turns E2EE on again in a meeting that lost it by moving, if we may: whether it is on now (its worker started). */
  async #encryptAgain(client: SignalingClient): Promise<boolean> {
    if (!this.may('setE2ee', { enabled: true })) return false;
    const turnedOn = await client.request('setE2ee', { enabled: true }).then(
      () => true,
      (error: Error) => (this.notice(`Could not turn end-to-end encryption on again: ${error.message}`), false),
    );
    if (turnedOn) await this.#startE2ee(client);
    return turnedOn;
  }

  /** E2EE is on again: the media held back since we rejoined goes up, encrypted. */
  async #releaseHeldMedia(): Promise<void> {
    const setUp = this.#heldMedia;
    this.#heldMedia = undefined;
    await setUp?.().catch((error: Error) => this.notice(`Could not set up media: ${error.message}`));
  }

  /** E2EE came on (or we joined it): keys for every other browser in the room. */
  async #startE2ee(client: SignalingClient): Promise<void> {
    if (!client.isOpen) return;
    const browsers = [...this.#state.value.participants.values()].filter((p) => p.kind === 'web').map((p) => p.id);
    await this.#e2ee.start(browsers).catch((error: Error) => this.notice(`Could not start end-to-end encryption: ${error.message}`));
  }

  /** Our media is gone (dropped, replaced, left), and with it what we heard of who speaks. */
  #stopMedia(): void {
    this.#media.tearDown();
    this.#dispatch({ type: 'mediaStopped' });
  }

  /** A request whose failure is shown to the user rather than thrown. */
  async #request<M extends RequestMethod>(
    method: M,
    data: RequestData<M>,
    describe: (error: Error) => string = (error) => error.message,
  ): Promise<ResponseData<M> | undefined> {
    const pending = this.#connection.request(method, data);
    if (!pending) return undefined;
    try {
      return await pending;
    } catch (error) {
      if (this.#connection.isConnected) this.notice(describe(error as Error));
      return undefined;
    }
  }
}
