import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import type { NotificationData, RequestData } from '../../protocol/protocol.ts';
import type { GatewayConfig } from '../config.ts';
import { PhoneRtp } from '../media/PhoneRtp.ts';
import type { PortPool, SocketPair } from '../../media/PortPool.ts';
import { LocalSdp, readRemoteAudio } from '../media/sdp.ts';
import { Call, type CallContext, type SipDialog } from './Call.ts';

export interface OutboundOptions {
  srf: Srf;
  config: GatewayConfig;
  ports: PortPool;
  callContext: CallContext;
  logger: Logger;
  calls: Set<Call>;
  report(report: RequestData<'reportDialOut'>): void;
}

type Invitation = NotificationData<'dialOutRequested'>;
type ReportedState = RequestData<'reportDialOut'>['state'];
type Report = (state: ReportedState, extra?: { reason?: string; peerId?: string }) => void;

/** The Request-URI for `number` at the trunk: sip:trunk.example.com;transport=tcp -> sip:NUMBER@trunk.example.com;transport=tcp */
function trunkTarget(trunkUri: string, number: string): string {
  return trunkUri.replace(/^(sips?:)(?:[^@;]*@)?/i, `$1${number}@`);
}

/** What a final failure response means for the inviter. */
function failureState(status: number, cancelledBy: 'ringTimeout' | 'inviter' | undefined): ReportedState {
  if (status === 487 && cancelledBy) return cancelledBy === 'ringTimeout' ? 'noAnswer' : 'cancelled';
  if (status === 486 || status === 600 || status === 603) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'noAnswer';
  return 'failed';
}

/**
 * Phone invitations: each rings a number through the trunk, for at most
 * DIAL_OUT_RING_SECONDS, and an answered callee joins the room like a caller
 * who dialed in. Every state change goes back to the bridge.
 */
export class DialOutCalls {
  readonly #options: OutboundOptions;
  /** How to stop each invitation still ringing or in the room. */
  readonly #cancellers = new Map<string, () => void>();

  constructor(options: OutboundOptions) {
    this.#options = options;
  }

  start(invitation: Invitation): void {
    void this.#dial(invitation).catch((error: unknown) => {
      this.#options.logger.error({ err: error, call: invitation.callId }, 'dial-out failed');
      this.#options.report({ callId: invitation.callId, state: 'failed', reason: 'internal error' });
    });
  }

  cancel(callId: string): void {
    this.#cancellers.get(callId)?.();
  }

  async #dial(invitation: Invitation): Promise<void> {
    const { config, ports, logger } = this.#options;
    const { callId } = invitation;
    const log = logger.child({ dialOut: callId });
    const report: Report = (state, extra = {}) => this.#options.report({ callId, state, ...extra });
    if (!config.trunk.uri) return report('failed', { reason: 'no SIP trunk is configured (SIP_TRUNK_URI)' });
    if (this.#options.calls.size >= config.limits.calls) return report('failed', { reason: 'the gateway is at MAX_CALLS' });

    let pair: SocketPair;
    try {
      pair = await ports.open();
    } catch (error) {
      log.error({ err: error }, 'no RTP port for a dial-out');
      return report('failed', { reason: 'no RTP port free' });
    }
    const localSdp = new LocalSdp(config.rtp.publicAddress, pair.port);
    const dialog = await this.#ring(invitation, localSdp, pair, report, log);
    if (!dialog) return;

    let rtp: PhoneRtp;
    try {
      rtp = new PhoneRtp(pair, readRemoteAudio(dialog.remote.sdp, config.codecs), `gateway@${config.rtp.publicAddress}`);
    } catch (error) {
      ports.release(pair);
      dialog.destroy();
      return report('failed', { reason: `the callee's answer is unusable: ${error instanceof Error ? error.message : String(error)}` });
    }
    const call = new Call(this.#options.callContext, dialog, rtp, localSdp, invitation.number);
    this.#options.calls.add(call);
    this.#cancellers.set(callId, () => void call.hangUp('hung up by the inviter'));
    call.once('ended', (reason) => {
      this.#cancellers.delete(callId);
      this.#options.calls.delete(call);
      ports.release(pair);
      report('ended', { reason });
    });
    try {
      void call.say('invited');
      await call.join(invitation.room, invitation.password ?? undefined);
      if (call.state === 'inRoom') report('answered', { peerId: call.peerId });
    } catch (error) {
      if (call.state === 'ended') return;
      log.warn({ err: error, room: invitation.room }, 'cannot put the callee in the room');
      await call.hangUp('could not join the room', 'goodbye');
    }
  }

  /** Sends the INVITE and waits for an answer; null (and the outcome reported) when there is none. */
  async #ring(
    invitation: Invitation,
    localSdp: LocalSdp,
    pair: SocketPair,
    report: Report,
    log: Logger,
  ): Promise<SipDialog | null> {
    const { srf, config, ports } = this.#options;
    const { callId } = invitation;
    let invite: Srf.SrfRequest | undefined;
    let cancelledBy: 'ringTimeout' | 'inviter' | undefined;
    let ringing = false;
    const cancel = (by: 'ringTimeout' | 'inviter') => {
      cancelledBy ??= by;
      invite?.cancel(ignore);
    };
    this.#cancellers.set(callId, () => cancel('inviter'));
    const ringTimer = setTimeout(() => cancel('ringTimeout'), config.trunk.ringSeconds * 1000);
    try {
      const dialog = (await srf.createUAC(
        trunkTarget(config.trunk.uri!, invitation.number),
        {
          localSdp: localSdp.offer(config.codecs),
          // "localhost" becomes our address on the way out, as drachtio-server does.
          headers: { From: `<sip:${config.trunk.callerId}@localhost>`, 'User-Agent': 'telebridge' },
          auth: config.trunk.auth,
        },
        {
          // drachtio-srf calls this with (err, req), not as its types declare.
          cbRequest: ((_error: unknown, req: Srf.SrfRequest) => {
            invite = req;
            if (cancelledBy) req.cancel(ignore); // cancelled before the INVITE was even out
          }) as unknown as (req: Srf.SrfRequest) => void,
          cbProvisional: (res: Srf.SrfResponse) => {
            if ((res.status === 180 || res.status === 183) && !ringing) {
              ringing = true;
              report('ringing');
            }
          },
        },
      )) as SipDialog;
      if (cancelledBy) {
        // Answered as we cancelled: hang up at once.
        dialog.destroy();
        throw Object.assign(new Error('answered after cancel'), { status: 487 });
      }
      log.info({ number: invitation.number }, 'callee answered');
      return dialog;
    } catch (error) {
      ports.release(pair);
      const status = (error as { status?: number }).status;
      const reason = status ? `${status} ${(error as { reason?: string }).reason ?? ''}`.trim() : String(error);
      const state = status ? failureState(status, cancelledBy) : 'failed';
      log.info({ state, reason }, 'dial-out not answered');
      report(state, { reason: state === 'noAnswer' && cancelledBy ? `no answer within ${config.trunk.ringSeconds} s` : reason });
      this.#cancellers.delete(callId);
      return null;
    } finally {
      clearTimeout(ringTimer);
    }
  }
}

/** A CANCEL's outcome shows in the INVITE's final response. */
function ignore(): void {}
