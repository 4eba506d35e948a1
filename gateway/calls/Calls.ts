import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/logger.ts';
import type { PortPool } from '../../media/PortPool.ts';
import type { GatewayConfig } from '../config.ts';
import { PhoneRtp } from '../media/PhoneRtp.ts';
import type { Prompts } from '../media/prompts.ts';
import { LocalSdp } from '../media/sdp.ts';
import type { RoomLinks } from '../room/RoomLinks.ts';
import { Call, type CallContext, type SipDialog } from './Call.ts';

export interface CallsOptions {
  config: GatewayConfig;
  prompts: Prompts;
  rooms: RoomLinks;
  ports: PortPool;
  logger: Logger;
}

/** Our side of the SDP, for a dialog being set up. */
export interface CallMedia {
  /** Our offer (a dial-out, or an INVITE without SDP). */
  offer(): string;
  /** Our answer to the phone's offer; its RTP starts now, so nothing it sends right after our 200 is lost. Throws SdpError. */
  answer(offer: string): string;
}

/**
 * How a call's dialog comes about, the one thing inbound and outbound calls
 * do differently: answering an INVITE, or ringing a number. Resolves with the
 * established dialog; throws when there is none (everything else opened for
 * the call is released by Calls).
 */
export type DialogSetup = (media: CallMedia) => Promise<SipDialog>;

/** MAX_CALLS reached: the gateway takes no more calls. */
export class GatewayFullError extends Error {
  constructor(max: number) {
    super(`the gateway has ${max} calls already (MAX_CALLS)`);
    this.name = 'GatewayFullError';
  }
}

interface CallsEvents {
  /** A call was answered and is now tracked. */
  added: [call: Call];
}

/**
 * Every call of this gateway, from answer to release: opens each call's RTP
 * ports, SDP and PhoneRtp around the dialog its flow sets up, holds it to
 * MAX_CALLS and MAX_CALLS_PER_ROOM, and gives everything back when it ends.
 * The only holder of the gateway's calls.
 */
export class Calls extends EventEmitter<CallsEvents> {
  readonly #calls = new Set<Call>();
  readonly #options: CallsOptions;
  readonly #context: CallContext;

  constructor(options: CallsOptions) {
    super();
    this.#options = options;
    const { config, prompts, rooms, logger } = options;
    this.#context = { config, prompts, rooms, logger, admitToRoom: (room) => this.#admitToRoom(room) };
  }

  get size(): number {
    return this.#calls.size;
  }

  [Symbol.iterator](): IterableIterator<Call> {
    return this.#calls.values();
  }

  /** MAX_CALLS reached: a new call would be refused. */
  get full(): boolean {
    return this.#calls.size >= this.#options.config.limits.calls;
  }

  /**
   * A new call: RTP ports and our SDP, the dialog `setup` brings about with
   * them, the phone's RTP, tracked until it ends. Throws GatewayFullError,
   * PortsExhaustedError, SdpError or whatever `setup` threw, with nothing
   * left open.
   */
  async open(callerName: string, setup: DialogSetup, log: Logger): Promise<Call> {
    const { config, ports } = this.#options;
    if (this.full) throw new GatewayFullError(config.limits.calls);
    let pair;
    try {
      pair = await ports.open();
    } catch (error) {
      log.warn({ err: error }, 'no RTP port for a call');
      throw error;
    }
    const localSdp = new LocalSdp(config.rtp.publicAddress, pair.port, config.srtp);
    const cname = `gateway@${config.rtp.publicAddress}`;
    let rtp: PhoneRtp | undefined;
    let dialog: SipDialog | undefined;
    try {
      dialog = await setup({
        offer: () => localSdp.offer(config.codecs),
        answer: (offer) => {
          const { sdp, remote } = localSdp.answer(offer, config.codecs);
          rtp = new PhoneRtp(pair, remote, cname, localSdp.key);
          return sdp;
        },
      });
      rtp ??= new PhoneRtp(pair, localSdp.readAnswer(dialog.remote.sdp, config.codecs), cname, localSdp.key);
      // A BYE right behind the ACK can be handled before this await resumes.
      if (!dialog.connected) throw new Error('hung up at once');
    } catch (error) {
      rtp?.close();
      if (dialog?.connected) dialog.destroy();
      ports.release(pair);
      throw error;
    }
    const call = new Call(this.#context, dialog, rtp, localSdp, callerName);
    this.#calls.add(call);
    call.once('ended', () => {
      this.#calls.delete(call);
      ports.release(pair);
    });
    this.emit('added', call);
    return call;
  }

  /** Hangs up every call (the gateway is stopping). */
  async hangUpAll(reason: string): Promise<void> {
    await Promise.all([...this.#calls].map((call) => call.hangUp(reason)));
  }

  /** MAX_CALLS_PER_ROOM: calls joining the room count as well as those in it. */
  #admitToRoom(room: string): void {
    const max = this.#options.config.limits.callsPerRoom;
    let inRoom = 0;
    for (const call of this.#calls) if (call.room === room) inRoom++;
    if (inRoom >= max) throw new Error(`room ${room} has ${max} calls already (MAX_CALLS_PER_ROOM)`);
  }
}
