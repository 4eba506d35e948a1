import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import type { GatewayConfig } from '../config.ts';
import { PortsExhaustedError } from '../../media/PortPool.ts';
import { SdpError, vetOffer } from '../media/sdp.ts';
import type { Call, SipDialog } from './Call.ts';
import { GatewayFullError, type Calls, type DialogSetup } from './Calls.ts';
import { askForRoom, joinAskingPassword } from './ivr.ts';
import { maskNumber, routeCall } from './routing.ts';
import type { createInboundGuard } from './trunkSecurity.ts';
import type { SipEdge } from '../edge/SipEdge.ts';

export interface InboundOptions {
  srf: Srf;
  config: GatewayConfig;
  guard: ReturnType<typeof createInboundGuard>;
  logger: Logger;
  calls: Calls;
  lookupPin(pin: string): Promise<string | null>;
  /** Counts wrong PINs and passwords per source (a source that fails too often is blocked). */
  edge: Pick<SipEdge, 'failed'>;
  /** Whether a caller dialling this room by name may go straight in (else: the PIN). */
  opensByUri(room: string): Promise<boolean>;
}

/**
 * An incoming INVITE, top to bottom: admit the caller, pick the room (or the
 * PIN prompt), answer with our SDP, and put the caller in the room.
 */
export function handleInvite(options: InboundOptions) {
  const { config, guard, logger, calls } = options;
  return async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const log = logger.child({ callId: req.get('Call-ID'), from: req.source_address });
    // Refused before the work of admitting and routing (Calls.open holds the limit too).
    if (calls.full) {
      res.send(503, 'Service Unavailable - too many calls', {});
      return;
    }
    if (!(await guard.admit(req, res))) {
      log.info('caller from outside SIP_TRUNK_SOURCES and SIP_ALLOWED_SOURCES challenged or refused');
      return;
    }
    const target = routeCall(
      {
        calledNumber: req.calledNumber,
        roomHeader: req.has('X-Room') ? req.get('X-Room') : undefined,
        fromTrunk: guard.isTrunk(req.source_address),
      },
      config.inbound,
    );
    if (target.kind === 'unknown') {
      res.send(404, 'Not Found', {});
      return;
    }
    // Straight into this room, or (undefined) the PIN prompt first.
    const direct = target.kind === 'room' || (target.kind === 'roomUri' && (await options.opensByUri(target.room))) ? target.room : undefined;

    const number = req.callingNumber || 'unknown';
    const shown = config.inbound.maskCallerId ? maskNumber(number) : number;
    const fromName = /^\s*"?([^"<]+?)"?\s*</.exec(req.get('From'))?.[1]?.trim();
    const callerName = fromName && !config.inbound.maskCallerId ? `${fromName} (${shown})` : shown;
    // An INVITE without SDP gets our offer; the answer then comes in the ACK.
    const answer: DialogSetup = async (media) =>
      (await options.srf.createUAS(req, res, {
        localSdp: req.body ? media.answer(req.body) : media.offer(),
        headers: { 'User-Agent': 'telebridge' },
      })) as SipDialog;
    let call: Call;
    try {
      // An offer we cannot answer is refused before it takes a port pair: a flood of them costs none.
      if (req.body) vetOffer(req.body, config.codecs, config.srtp);
      call = await calls.open(callerName, answer, log);
    } catch (error) {
      if (error instanceof SdpError) log.info({ err: error.message }, 'call refused: SDP');
      else log.info({ err: error }, 'call not established');
      if (!res.finalResponseSent) res.send(refusalStatus(error));
      return;
    }
    log.info({ call: call.id, target }, 'call answered');

    const ivr = {
      digitTimeoutMs: config.ivr.digitTimeoutSeconds * 1000,
      maxAttempts: config.ivr.maxAttempts,
      wrongEntry: (what: 'pin' | 'password') => options.edge.failed(req.source_address, what),
    };
    await call.putInRoom(async () => {
      const room = direct ?? (await askForRoom(call, { ...ivr, lookupPin: options.lookupPin }));
      if (!room) return;
      if (!direct) void call.say('joining');
      await joinAskingPassword(call, room, ivr);
    });
  };
}

/** The final response for an INVITE we could not answer. */
function refusalStatus(error: unknown): number {
  if (error instanceof GatewayFullError || error instanceof PortsExhaustedError) return 503;
  if (error instanceof SdpError) return 488;
  return 500;
}
