import { EventEmitter } from 'node:events';
import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import type { DisconnectReason } from '../../protocol/protocol.ts';
import { SignalingError } from '../../protocol/SignalingClient.ts';
import type { GatewayConfig } from '../config.ts';
import { FRAME_SAMPLES } from '../../media/codecs.ts';
import { digitFromInfo } from '../media/dtmf.ts';
import { HOLD_MUSIC } from '../media/HoldMusic.ts';
import type { PhoneRtp } from '../media/PhoneRtp.ts';
import { PromptPlayer } from '../media/PromptPlayer.ts';
import { tone, type PromptName, type Prompts } from '../media/prompts.ts';
import { SdpError, type LocalSdp } from '../media/sdp.ts';
import { lostTheBridge, REJOIN_CONNECT_TIMEOUT_MS, REJOIN_DEADLINE_MS, rejoinAt, rejoinTargets } from '../room/bridgeFailover.ts';
import { DisconnectedWhileJoining, PhonePeer } from '../room/PhonePeer.ts';
import type { RoomAudio, RoomAudioEnd } from '../../media/RoomAudio.ts';
import type { RoomLinks } from '../room/RoomLinks.ts';
import { CallStates, type CallState } from './callStates.ts';

/** drachtio-srf's Dialog, with the members its type declarations leave out. */
export type SipDialog = Srf.Dialog & { readonly id: string; readonly connected: boolean };

/** What a call needs from the gateway around it. */
export interface CallContext {
  config: GatewayConfig;
  prompts: Prompts;
  rooms: RoomLinks;
  logger: Logger;
  /** Throws when the room already has MAX_CALLS_PER_ROOM calls of this gateway. */
  admitToRoom(room: string): void;
}

interface CallEvents {
  ended: [reason: string];
  stateChanged: [state: CallState];
}

/** In-call keys: a star, then a digit within this time. */
const CONTROL_WINDOW_MS = 3000;

/** On hold in a lobby, the caller is reminded why this often, between stretches of music. */
const LOBBY_REMINDER_MS = 30_000;

/** How a call enters a room: a locked room's password, or the dial-out invitation it answers (no lobby then). */
export interface JoinAccess {
  password?: string;
  dialOutCallId?: string;
}

/**
 * One answered phone call: its dialog, its RTP, what it hears each tick,
 * the digits it sends and, once it has entered a room, its participant.
 */
export class Call extends EventEmitter<CallEvents> {
  readonly id: string;
  readonly callerName: string;
  readonly rtp: PhoneRtp;
  readonly #ctx: CallContext;
  readonly #dialog: SipDialog;
  readonly #localSdp: LocalSdp;
  readonly #logger: Logger;
  readonly #player = new PromptPlayer();
  readonly #frame = new Int16Array(FRAME_SAMPLES);
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #states: CallStates;
  #room: RoomAudio | undefined;
  #roomName: string | undefined;
  /** The locked room's password the caller gave, for joining it again elsewhere. */
  #password: string | undefined;
  #peer: PhonePeer | undefined;
  /** Stops watching the room's audio for the loss of its bridge (when the call leaves it). */
  #unwatchRoom: (() => void) | undefined;
  /** Set while the call joins its room again after losing the room's bridge. */
  #rejoining = false;
  #digitListener: ((digit: string) => void) | undefined;
  /** Aborted when the call ends: a join under way (perhaps waiting in a lobby) is abandoned. */
  readonly #ended = new AbortController();
  /** Hold music plays while this is set: from a lobby's knock until its answer (or the call's end). */
  #onHold = false;
  #starAt = 0;
  #handRaised = false;

  constructor(ctx: CallContext, dialog: SipDialog, rtp: PhoneRtp, localSdp: LocalSdp, callerName: string) {
    super();
    this.#ctx = ctx;
    this.#dialog = dialog;
    this.rtp = rtp;
    this.#localSdp = localSdp;
    this.callerName = callerName;
    this.id = dialog.id;
    this.#logger = ctx.logger.child({ call: dialog.id });
    this.#states = new CallStates(dialog.id, this.#logger);
    rtp.on('digit', (digit) => this.#onDigit(digit));
    rtp.on('audio', (packet) => {
      // A phone that put the meeting on hold may play music on hold: the room should not hear it.
      if (rtp.remote.direction !== 'sendonly') this.#peer?.forward(packet, rtp.codec);
    });
    dialog.on('destroy', () => this.#end('caller hung up', false));
    dialog.on('info', (req: Srf.SrfRequest, res: Srf.SrfResponse) => {
      const digit = digitFromInfo(req.get('Content-Type'), req.body ?? '');
      res.send(digit ? 200 : 415);
      if (digit) this.#onDigit(digit);
    });
    dialog.on('modify', (req: Srf.SrfRequest, res: Srf.SrfResponse) => this.#onReinvite(req, res));
    const { limits } = ctx.config;
    this.#timers.push(
      setTimeout(() => void this.hangUp('maximum call duration reached'), limits.callSeconds * 1000),
      setInterval(() => this.#checkRtpTimeout(), 1000),
    );
  }

  get state(): CallState {
    return this.#states.current;
  }

  get room(): string | undefined {
    return this.#roomName;
  }

  /** The caller's participant id in the room, once in. */
  get peerId(): string | undefined {
    return this.#peer?.id;
  }

  /** One 20 ms frame to the phone: the room minus the caller, plus any prompt. */
  tick(): void {
    const frame = this.#frame;
    if (this.#room && this.state === 'inRoom') this.#room.mixer.mixMinus(this.#peer?.id, frame);
    else frame.fill(0);
    this.#player.mixInto(frame);
    this.rtp.sendFrame(frame);
  }

  /** Plays a prompt to this caller; resolves when it has been heard (or cut short). */
  say(name: PromptName): Promise<void> {
    return this.#player.play(this.#ctx.prompts[name]);
  }

  /** Cuts off whatever is playing and says this instead. */
  sayNow(name: PromptName): Promise<void> {
    this.#player.interrupt();
    return this.say(name);
  }

  /**
   * Waits for the next digit, or null once `timeoutMs` passed after the
   * current prompt ended. Typing cuts a prompt short.
   */
  nextDigit(timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      void this.#player.whenIdle().then(() => {
        if (!settled) timer = setTimeout(() => finish(null), timeoutMs);
      });
      const finish = (digit: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.off('ended', onEnded);
        if (this.#digitListener === listener) this.#digitListener = undefined;
        resolve(digit);
      };
      const listener = (digit: string) => finish(digit);
      const onEnded = () => finish(null);
      this.#digitListener = listener;
      this.once('ended', onEnded);
    });
  }

  /**
   * Enters the room as a participant; throws if the bridge refuses (full or locked room, bridge down).
   * A room with a lobby puts the caller on hold until a moderator decides: denied or left waiting,
   * the caller is told so and hung up.
   */
  async join(room: string, access: JoinAccess = {}): Promise<void> {
    const { password } = access;
    if (this.#isEnded()) return;
    this.#ctx.admitToRoom(room);
    if (!this.#setState('joining')) return;
    // From here #end() releases the room, whichever await it interrupts.
    this.#roomName = room;
    this.#password = password;
    let audio: RoomAudio;
    let peer: PhonePeer;
    try {
      audio = await this.#ctx.rooms.acquire(room, password);
      if (this.#isEnded()) return;
      this.#room = audio;
      peer = await PhonePeer.join({
        bridgeUrl: this.#ctx.config.bridge.signalingUrl,
        room: audio,
        displayName: this.callerName,
        codec: this.rtp.remote.codec,
        password,
        secret: this.#ctx.config.bridge.serviceSecret,
        dialOutCallId: access.dialOutCallId,
        region: this.#ctx.config.bridge.region,
        onWaitingInLobby: () => this.#waitInLobby(),
        signal: this.#ended.signal,
      });
    } catch (error) {
      if (this.#isEnded()) throw error;
      this.#endHold();
      const waited = this.state === 'inLobby';
      this.#room = undefined;
      this.#roomName = undefined;
      this.#ctx.rooms.release(room);
      if (error instanceof DisconnectedWhileJoining) return this.hangUp(endReason(error.reason));
      const refusal = finalRefusal(error, waited);
      if (refusal) return this.hangUp(refusal.reason, refusal.prompt);
      // Only a refusal before the lobby (a wrong password) goes back to the prompt; a wait ends the call.
      if (!waited) this.#setState('ivr');
      throw error;
    }
    if (this.#isEnded()) {
      peer.leave();
      return;
    }
    this.#endHold(); // admitted
    this.#enter(audio, peer);
    this.#setState('inRoom');
    this.#logger.info({ room, peer: peer.id }, 'caller joined the room');
    if (peer.recorded) void this.say('recording');
    if (peer.others === 0) void this.say('onlyParticipant');
  }

  /**
   * The caller is in the room as `peer`, hearing `audio`. When either loses
   * the room's bridge the call joins again elsewhere; any other end of the
   * participant (removed, the room closed) ends the call.
   */
  #enter(audio: RoomAudio, peer: PhonePeer): void {
    this.#room = audio;
    this.#peer = peer;
    peer.on('peerJoined', () => void this.#player.play(tone('joined')));
    peer.on('peerLeft', () => void this.#player.play(tone('left')));
    peer.on('mutedByModerator', () => void this.sayNow('mutedByModerator'));
    peer.on('recordingStarted', () => void this.say('recording'));
    peer.on('disconnected', (reason) => void (lostTheBridge(reason) ? this.#rejoin() : this.hangUp(endReason(reason))));
    const onClosed = (reason: RoomAudioEnd) => {
      if (lostTheBridge(reason)) void this.#rejoin();
    };
    audio.once('closed', onClosed);
    this.#unwatchRoom = () => audio.off('closed', onClosed);
  }

  /**
   * The room's bridge is gone (or going): the caller hears that we are
   * reconnecting, the room's audio joins again (once for all its calls, see
   * RoomLinks.restore), then the caller's participant, muted as it was, its
   * hand as it was. The caller's RTP to us never changes; only our legs
   * toward the bridge are new. Not back within REJOIN_DEADLINE_MS: told, and
   * hung up.
   */
  async #rejoin(): Promise<void> {
    const room = this.#roomName;
    const lostAudio = this.#room;
    const lostPeer = this.#peer;
    if (this.#rejoining || this.#isEnded() || !room || !lostAudio || !lostPeer) return;
    this.#rejoining = true;
    const started = performance.now();
    this.#logger.info({ room, bridge: lostPeer.url }, "lost the room's bridge; joining again");
    this.#unwatchRoom?.();
    lostPeer.leave();
    this.#peer = undefined;
    this.#room = undefined; // the caller hears only the prompt meanwhile
    void this.sayNow('reconnecting');
    const signal = AbortSignal.any([this.#ended.signal, AbortSignal.timeout(REJOIN_DEADLINE_MS)]);
    try {
      const audio = await this.#ctx.rooms.restore(room, lostAudio);
      const { targets } = rejoinTargets({ roomAt: audio.url, lost: lostPeer.url, configured: this.#ctx.config.bridge.signalingUrl, fallbacks: lostPeer.fallbacks });
      const join = (bridgeUrl: string) =>
        PhonePeer.join({
          bridgeUrl,
          room: audio,
          displayName: this.callerName,
          codec: this.rtp.remote.codec,
          password: this.#password,
          secret: this.#ctx.config.bridge.serviceSecret,
          bridgeLost: true,
          region: this.#ctx.config.bridge.region,
          muted: lostPeer.muted,
          signal,
          connectTimeoutMs: REJOIN_CONNECT_TIMEOUT_MS,
        });
      const peer = await rejoinAt(targets, join, {
        signal,
        isFinal: (error) => error instanceof DisconnectedWhileJoining && !lostTheBridge(error.reason),
        onFailure: (url, error) => this.#logger.debug({ url, err: error }, 'not back in the room yet'),
      });
      if (this.#isEnded()) {
        peer.leave();
        return;
      }
      this.#enter(audio, peer);
      if (this.#handRaised) void peer.setHandRaised(true).catch((error: unknown) => this.#logger.warn({ err: error }, 'cannot raise the hand again'));
      this.#logger.info({ room, bridge: peer.url, peer: peer.id, ms: Math.round(performance.now() - started) }, 'caller joined the room again');
    } catch (error) {
      if (this.#isEnded()) return;
      this.#logger.warn({ room, err: error }, 'could not join the room again');
      if (error instanceof DisconnectedWhileJoining) return this.hangUp(endReason(error.reason));
      await this.hangUp('lost the connection to the meeting', 'connectionLost');
    } finally {
      this.#rejoining = false;
    }
  }

  /**
   * The bridge holds the join in the room's lobby: the caller hears why, then
   * music, reminded now and then, until the join is answered or the call ends.
   */
  #waitInLobby(): void {
    if (this.#isEnded() || !this.#setState('inLobby')) return;
    this.#logger.info({ room: this.#roomName }, 'caller waits in the lobby');
    this.#onHold = true;
    void this.#holdMusic();
  }

  async #holdMusic(): Promise<void> {
    while (this.#onHold) {
      await this.say('waitingInLobby');
      const remindAt = Date.now() + LOBBY_REMINDER_MS;
      while (this.#onHold && Date.now() < remindAt) await this.#player.play(HOLD_MUSIC);
    }
  }

  /** The lobby answered (or the call ends): the music and the reminder stop at once. */
  #endHold(): void {
    if (!this.#onHold) return;
    this.#onHold = false;
    this.#player.interrupt();
  }

  /**
   * Puts the caller in a room by `flow` (PIN, password, joining). When that
   * fails (bridge unreachable, room full, PIN lookup failed) the caller is
   * told goodbye, not left in silence.
   */
  async putInRoom(flow: () => Promise<void>): Promise<void> {
    try {
      await flow();
    } catch (error) {
      if (this.#isEnded()) return; // the caller hung up meanwhile
      this.#logger.warn({ err: error }, 'cannot put the caller in a room');
      await this.hangUp('could not join the room', 'goodbye');
    }
  }

  /** Ends the call from our side (BYE), after an optional goodbye. */
  async hangUp(reason: string, goodbye?: PromptName): Promise<void> {
    if (this.#isEnded()) return;
    if (goodbye) await this.say(goodbye);
    this.#end(reason, true);
  }

  #end(reason: string, sendBye: boolean): void {
    // Ending twice is normal (a BYE while our goodbye plays), not a bad transition.
    if (this.#isEnded() || !this.#setState('ended')) return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#ended.abort();
    this.#endHold();
    this.#player.interrupt();
    this.#leaveRoom();
    this.rtp.close();
    if (sendBye && this.#dialog.connected) {
      this.#dialog.destroy(undefined, (error: unknown) => {
        if (error) this.#logger.debug({ err: error }, 'BYE failed');
      });
    }
    this.#logger.info({ reason }, 'call ended');
    this.emit('ended', reason);
    this.removeAllListeners();
  }

  #leaveRoom(): void {
    this.#unwatchRoom?.();
    this.#unwatchRoom = undefined;
    this.#peer?.leave();
    this.#peer = undefined;
    if (this.#roomName) this.#ctx.rooms.release(this.#roomName);
    this.#roomName = undefined;
    this.#room = undefined;
  }

  /** Read through a method: the state can change across any await. */
  #isEnded(): boolean {
    return this.state === 'ended';
  }

  /** False when the move is not allowed (logged by CallStates as a bug). */
  #setState(state: CallState): boolean {
    if (!this.#states.moveTo(state)) return false;
    this.emit('stateChanged', state);
    return true;
  }

  #onDigit(digit: string): void {
    this.#logger.debug({ digit }, 'DTMF');
    if (this.#digitListener) {
      this.#player.interrupt();
      this.#digitListener(digit);
      return;
    }
    if (this.state !== 'inRoom') return;
    if (digit === '*') {
      this.#starAt = Date.now();
      return;
    }
    if (Date.now() - this.#starAt > CONTROL_WINDOW_MS) return;
    this.#starAt = 0;
    void this.#control(digit).catch((error: unknown) => this.#logger.warn({ err: error, digit }, 'in-call control failed'));
  }

  /** *6 mute, *9 hand, *0 help. */
  async #control(digit: string): Promise<void> {
    const peer = this.#peer;
    if (!peer) return;
    if (digit === '6') {
      const muted = !peer.muted;
      await peer.setMuted(muted);
      await this.sayNow(muted ? 'muted' : 'unmuted');
    } else if (digit === '9') {
      this.#handRaised = !this.#handRaised;
      await peer.setHandRaised(this.#handRaised);
      await this.sayNow(this.#handRaised ? 'handRaised' : 'handLowered');
    } else if (digit === '0') {
      await this.sayNow('help');
    }
  }

  #onReinvite(req: Srf.SrfRequest, res: Srf.SrfResponse): void {
    try {
      // Keep the codec we agreed on; a re-INVITE here changes address or hold state.
      const { sdp, remote } = this.#localSdp.answer(req.body, [this.rtp.remote.codec.name]);
      this.rtp.update(remote);
      res.send(200, { body: sdp, headers: { 'Content-Type': 'application/sdp' } });
      this.#logger.info({ direction: remote.direction }, 're-INVITE');
    } catch (error) {
      res.send(error instanceof SdpError ? 488 : 500);
    }
  }

  #checkRtpTimeout(): void {
    if (this.rtp.remote.direction !== 'sendrecv') return; // on hold either way: the phone need not send
    const silentMs = Date.now() - this.rtp.lastReceivedAt;
    if (silentMs > this.#ctx.config.limits.rtpTimeoutSeconds * 1000) void this.hangUp('no RTP from the caller');
  }
}

/**
 * A join refusal that ends the call, and what the caller hears before the hang-up: the meeting
 * is end-to-end encrypted (`encrypted`: no phone can hold its keys), a lobby denied the caller
 * (`notAdmitted`), or, after waiting, `unavailable` (the wait timed out or the room closed).
 */
function finalRefusal(error: unknown, waited: boolean): { reason: string; prompt: PromptName } | undefined {
  if (!(error instanceof SignalingError)) return undefined;
  if (error.code === 'encrypted') return { reason: 'the meeting is end-to-end encrypted', prompt: 'encryptedMeeting' };
  if (error.code === 'notAdmitted') return { reason: 'not admitted from the lobby', prompt: 'notAdmitted' };
  if (error.code === 'unavailable' && waited) return { reason: `not let in from the lobby (${error.message})`, prompt: 'notLetIn' };
  return undefined;
}

/** Why a call ended when the bridge ended its participant. */
function endReason(reason: DisconnectReason | 'connectionLost'): string {
  return reason === 'kicked' ? 'removed by a moderator' : `room ${reason}`;
}
