import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import type { NotificationData, RequestData } from '../../protocol/protocol.ts';
import type { GatewayConfig } from '../config.ts';
import { PortsExhaustedError } from '../../media/PortPool.ts';
import { SdpError } from '../media/sdp.ts';
import type { Call, SipDialog } from './Call.ts';
import { GatewayFullError, type Calls } from './Calls.ts';

export interface OutboundOptions {
  srf: Srf;
  config: GatewayConfig;
  logger: Logger;
  calls: Calls;
  report(report: RequestData<'reportDialOut'>): void;
}

type Invitation = NotificationData<'dialOutRequested'>;
type CancelReason = NotificationData<'dialOutCancelled'>['reason'];
type ReportedState = RequestData<'reportDialOut'>['state'];
type Report = (state: ReportedState, extra?: { reason?: string; peerId?: string }) => void;

/** Why an answered invitation ended when the bridge cancelled it. */
const CANCELLED: Record<CancelReason, string> = {
  inviter: 'hung up by the inviter',
  roomClosed: 'the room closed',
  budgetSpent: "the day's dial-out minutes are used up",
};

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
  readonly #cancellers = new Map<string, (reason: CancelReason) => void>();

  constructor(options: OutboundOptions) {
    this.#options = options;
  }

  start(invitation: Invitation): void {
    void this.#dial(invitation).catch((error: unknown) => {
      this.#options.logger.error({ err: error, call: invitation.callId }, 'dial-out failed');
      this.#options.report({ callId: invitation.callId, state: 'failed', reason: 'internal error' });
    });
  }

  cancel(callId: string, reason: CancelReason): void {
    this.#cancellers.get(callId)?.(reason);
  }

  async #dial(invitation: Invitation): Promise<void> {
    const { config, calls, logger } = this.#options;
    const { callId } = invitation;
    const log = logger.child({ dialOut: callId });
    const report: Report = (state, extra = {}) => this.#options.report({ callId, state, ...extra });
    if (!config.trunk.uri) return report('failed', { reason: 'no SIP trunk is configured (SIP_TRUNK_URI)' });

    const dialing = this.#ringing(invitation, report);
    let call: Call;
    try {
      call = await calls.open(invitation.number, (media) => dialing.ring(media.offer()), log);
    } catch (error) {
      this.#cancellers.delete(callId);
      const { state, reason } = dialing.outcome(error);
      log.info({ state, reason }, 'dial-out not answered');
      return report(state, { reason });
    }
    log.info({ number: invitation.number }, 'callee answered');
    // A callee cut off by the day's budget is told why before the BYE.
    this.#cancellers.set(callId, (reason) => void call.hangUp(CANCELLED[reason], reason === 'budgetSpent' ? 'callTimeUp' : undefined));
    call.once('ended', (reason) => {
      this.#cancellers.delete(callId);
      report('ended', { reason });
    });
    await call.putInRoom(async () => {
      void call.say('invited');
      await call.join(invitation.room, { password: invitation.password ?? undefined, dialOutCallId: invitation.callId });
      if (call.state === 'inRoom') report('answered', { peerId: call.peerId });
    });
  }

  /**
   * Ringing the number through the trunk: the INVITE, cancelled by the
   * inviter or after DIAL_OUT_RING_SECONDS, and what a failure means for the inviter.
   */
  #ringing(invitation: Invitation, report: Report) {
    const { srf, config } = this.#options;
    let invite: Srf.SrfRequest | undefined;
    let cancelledBy: 'ringTimeout' | 'inviter' | undefined;
    const cancel = (by: 'ringTimeout' | 'inviter') => {
      cancelledBy ??= by;
      invite?.cancel(ignore);
    };
    this.#cancellers.set(invitation.callId, () => cancel('inviter'));
    return {
      /** Sends the INVITE with our offer; resolves with the answered dialog. */
      ring: async (offer: string): Promise<SipDialog> => {
        let ringing = false;
        const ringTimer = setTimeout(() => cancel('ringTimeout'), config.trunk.ringSeconds * 1000);
        try {
          const dialog = (await srf.createUAC(
            trunkTarget(config.trunk.uri!, invitation.number),
            {
              localSdp: offer,
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
          return dialog;
        } finally {
          clearTimeout(ringTimer);
        }
      },
      /** What the inviter is told when no call came of it. */
      outcome: (error: unknown): { state: ReportedState; reason: string } => {
        if (error instanceof GatewayFullError) return { state: 'failed', reason: 'the gateway is at MAX_CALLS' };
        if (error instanceof PortsExhaustedError) return { state: 'failed', reason: 'no RTP port free' };
        if (error instanceof SdpError) return { state: 'failed', reason: `the callee's answer is unusable: ${error.message}` };
        const status = (error as { status?: number }).status;
        if (!status) return { state: 'failed', reason: String(error) };
        const state = failureState(status, cancelledBy);
        const reason = state === 'noAnswer' && cancelledBy ? `no answer within ${config.trunk.ringSeconds} s` : `${status} ${(error as { reason?: string }).reason ?? ''}`.trim();
        return { state, reason };
      },
    };
  }
}

/** A CANCEL's outcome shows in the INVITE's final response. */
function ignore(): void {}
