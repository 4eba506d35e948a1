import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import type { GatewayConfig } from '../config.ts';
import { PhoneRtp } from '../media/PhoneRtp.ts';
import { PortsExhaustedError, type PortPool } from '../../media/PortPool.ts';
import { LocalSdp, readRemoteAudio, SdpError } from '../media/sdp.ts';
import { Call, type CallContext, type SipDialog } from './Call.ts';
import { askForRoom, joinAskingPassword } from './ivr.ts';
import { maskNumber, routeCall } from './routing.ts';
import type { createInboundGuard } from './trunkSecurity.ts';

export interface InboundOptions {
  srf: Srf;
  config: GatewayConfig;
  ports: PortPool;
  guard: ReturnType<typeof createInboundGuard>;
  callContext: CallContext;
  logger: Logger;
  /** Calls in progress on this gateway. */
  calls: Set<Call>;
  lookupPin(pin: string): Promise<string | null>;
}

/**
 * An incoming INVITE, top to bottom: admit the caller, pick the room (or the
 * PIN prompt), answer with our SDP, and put the caller in the room.
 */
export function handleInvite(options: InboundOptions) {
  const { config, ports, guard, logger, calls } = options;
  return async (req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<void> => {
    const log = logger.child({ callId: req.get('Call-ID'), from: req.source_address });
    if (calls.size >= config.limits.calls) {
      res.send(503, 'Service Unavailable - too many calls', {});
      return;
    }
    if (!(await guard.admit(req, res))) {
      log.info('caller from outside SIP_ALLOWED_SOURCES challenged or refused');
      return;
    }
    const target = routeCall(
      {
        calledNumber: req.calledNumber,
        roomHeader: req.has('X-Room') ? req.get('X-Room') : undefined,
        trusted: guard.isTrusted(req.source_address),
      },
      config.inbound,
    );
    if (target.kind === 'unknown') {
      res.send(404, 'Not Found', {});
      return;
    }

    let pair;
    try {
      pair = await ports.open();
    } catch (error) {
      log.error({ err: error }, 'no RTP port for a call');
      res.send(error instanceof PortsExhaustedError ? 503 : 500);
      return;
    }
    const localSdp = new LocalSdp(config.rtp.publicAddress, pair.port);
    let rtp: PhoneRtp | undefined;
    let dialog: SipDialog;
    try {
      let answerSdp: string;
      if (req.body) {
        const { sdp, remote } = localSdp.answer(req.body, config.codecs);
        answerSdp = sdp;
        rtp = new PhoneRtp(pair, remote, `gateway@${config.rtp.publicAddress}`);
      } else {
        answerSdp = localSdp.offer(config.codecs); // late offer: the answer comes in the ACK
      }
      dialog = (await options.srf.createUAS(req, res, {
        localSdp: answerSdp,
        headers: { 'User-Agent': 'telebridge' },
      })) as SipDialog;
      rtp ??= new PhoneRtp(pair, readRemoteAudio(dialog.remote.sdp, config.codecs), `gateway@${config.rtp.publicAddress}`);
      // A BYE right behind the ACK can be handled before this await resumes.
      if (!dialog.connected) throw new Error('caller hung up at once');
    } catch (error) {
      rtp?.close();
      ports.release(pair);
      if (error instanceof SdpError) {
        log.info({ err: error.message }, 'call refused: SDP');
        if (!res.finalResponseSent) res.send(488, 'Not Acceptable Here', {});
      } else {
        log.info({ err: error }, 'call not established');
      }
      return;
    }

    const number = req.callingNumber || 'unknown';
    const shown = config.inbound.maskCallerId ? maskNumber(number) : number;
    const fromName = /^\s*"?([^"<]+?)"?\s*</.exec(req.get('From'))?.[1]?.trim();
    const call = new Call(options.callContext, dialog, rtp, localSdp, fromName && !config.inbound.maskCallerId ? `${fromName} (${shown})` : shown);
    calls.add(call);
    call.once('ended', () => {
      calls.delete(call);
      ports.release(pair);
    });
    log.info({ call: call.id, target }, 'call answered');

    const ivr = { digitTimeoutMs: config.ivr.digitTimeoutSeconds * 1000, maxAttempts: config.ivr.maxAttempts };
    let room: string | null = null;
    try {
      room =
        target.kind === 'room'
          ? target.room
          : await askForRoom(call, { ...ivr, lookupPin: options.lookupPin });
      if (!room) return;
      if (target.kind === 'ivr') void call.say('joining');
      await joinAskingPassword(call, room, ivr);
    } catch (error) {
      if (call.state === 'ended') return; // the caller hung up meanwhile
      // Bridge unreachable, room full, PIN lookup failed: the caller is told, not left in silence.
      log.warn({ err: error, room }, 'cannot put the caller in a room');
      await call.hangUp('could not join the room', 'goodbye');
    }
  };
}
