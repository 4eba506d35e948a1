import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/logger.ts';
import {
  FINAL_DIAL_OUT_STATES,
  type DialOutCall,
  type ParsedRequestData,
  type TrunkRegistration,
} from '../../protocol/protocol.ts';
import type { PeerChannel } from '../rooms/Peer.ts';
import type { Room } from '../rooms/Room.ts';
import { RequestError } from '../signaling/RequestError.ts';
import type { DialOutAudit, Inviter } from './DialOutAudit.ts';
import { BUDGET_RULE, type DialOutPolicy } from './DialOutPolicy.ts';

/** A SIP gateway connected to this bridge for dial-out (Jicofo's Jigasi brewery, in one map). */
export interface GatewayLink {
  readonly channel: PeerChannel;
  name: string;
  dialOut: boolean;
  trunkRegistration: TrunkRegistration | null;
  /** Invitations under way on this gateway. */
  readonly active: Set<string>;
}

/** An invitation under way: where its progress goes. */
interface Underway {
  room: Room;
  gateway: GatewayLink;
  /** Why the bridge itself is ending it (it outranks the gateway's "hung up"). */
  endReason?: string;
}

/** Finished invitations each room keeps for its list (the newest). */
const FINISHED_KEPT = 20;

/**
 * Phone invitations: admits each by the dial-out policy (a refused one never
 * reaches a gateway), picks a gateway for it, relays cancellation to it, ends
 * calls when the day's minutes run out, audits every attempt, keeps each live
 * room's invitations (those under way and the latest finished) and shows
 * every change to the room.
 */
export class DialOuts {
  readonly #gateways = new Set<GatewayLink>();
  readonly #underway = new Map<string, Underway>();
  /** Each live room's invitations in update order: the one record of a call's state. */
  readonly #calls = new Map<Room, Map<string, DialOutCall>>();
  readonly #logger: Logger;
  readonly #policy: DialOutPolicy;
  readonly audit: DialOutAudit;
  /** Fires when the calls under way will have used up the day's minutes. */
  #budgetTimer: NodeJS.Timeout | undefined;

  constructor(logger: Logger, policy: DialOutPolicy, audit: DialOutAudit) {
    this.#logger = logger;
    this.#policy = policy;
    this.audit = audit;
  }

  get available(): boolean {
    return [...this.#gateways].some((g) => g.dialOut);
  }

  get gateways(): readonly GatewayLink[] {
    return [...this.#gateways];
  }

  /** A room's invitations: those under way and the latest finished ones. */
  /** Whether `callId` is one of the room's invitations, still under way (its phone may skip the lobby). */
  invited(room: Room, callId: string): boolean {
    const call = this.#calls.get(room)?.get(callId);
    return call !== undefined && !FINAL_DIAL_OUT_STATES.has(call.state);
  }

  list(room: Room): DialOutCall[] {
    return [...(this.#calls.get(room)?.values() ?? [])];
  }

  addGateway(gateway: GatewayLink): void {
    this.#gateways.add(gateway);
    this.#logger.info({ gateway: gateway.name, dialOut: gateway.dialOut }, 'SIP gateway registered');
    if (gateway.dialOut && !this.#policy.numbers.configured) {
      this.#logger.warn({ gateway: gateway.name }, 'a SIP gateway offers dial-out, but DIAL_OUT_ALLOWED_PREFIXES is not set: every number is refused');
    }
  }

  /** The gateway went away: what it was calling has failed. */
  removeGateway(gateway: GatewayLink): void {
    if (!this.#gateways.delete(gateway)) return;
    this.#logger.info({ gateway: gateway.name }, 'SIP gateway gone');
    for (const callId of gateway.active) this.#finish(callId, 'failed', 'the SIP gateway disconnected');
  }

  /** Places a call, or refuses it (`forbidden`, naming the rule; `unavailable` with no gateway). Audited either way. */
  start(room: Room, inviter: Inviter, number: string): DialOutCall {
    if (room.closed) throw new RequestError('notFound', `room ${room.name} has closed`);
    const attempt = { id: randomUUID(), at: Date.now(), room: room.name, inviter: { id: inviter.id, name: inviter.displayName }, number };
    try {
      room.moderation.e2ee.refuse('inviting a phone');
    } catch (refusal) {
      this.audit.refused({ ...attempt, outcome: 'refused', rule: 'E2EE', reason: (refusal as Error).message });
      throw refusal;
    }
    const gateway = this.#pickGateway();
    if (!gateway) {
      const reason = 'phone invitations are unavailable: no SIP gateway with a trunk is connected';
      this.audit.refused({ ...attempt, outcome: 'unavailable', reason });
      throw new RequestError('unavailable', reason);
    }
    const admission = this.#policy.admit(room.name, inviter.id, number);
    if (!admission.admitted) {
      this.audit.refused({ ...attempt, number: admission.e164 ?? number, outcome: 'refused', rule: admission.rule, reason: admission.message });
      throw new RequestError('forbidden', `${admission.message} [rule: ${admission.rule}]`);
    }
    const call: DialOutCall = { id: attempt.id, number: admission.e164, state: 'calling', requestedBy: inviter.displayName, startedAt: attempt.at };
    this.#policy.placed(call.id, room.name, inviter.id);
    this.audit.placed({ ...attempt, number: call.number });
    this.#underway.set(call.id, { room, gateway });
    gateway.active.add(call.id);
    this.#publish(room, call);
    gateway.channel.notify('dialOutRequested', { callId: call.id, room: room.name, number: call.number, password: room.moderation.password });
    this.#logger.info({ room: room.name, call: call.id, gateway: gateway.name }, 'dialing out');
    return call;
  }

  cancel(room: Room, callId: string): void {
    const invitation = this.#underway.get(callId);
    if (!invitation || invitation.room !== room) throw new RequestError('notFound', `no phone invitation ${callId} under way in this room`);
    invitation.gateway.channel.notify('dialOutCancelled', { callId, reason: 'inviter' });
  }

  /** A gateway's progress report on one of its calls. */
  report(gateway: GatewayLink, report: ParsedRequestData<'reportDialOut'>): void {
    const invitation = this.#underway.get(report.callId);
    if (!invitation || invitation.gateway !== gateway) throw new RequestError('notFound', `no invitation ${report.callId} on this gateway`);
    if (FINAL_DIAL_OUT_STATES.has(report.state)) {
      this.#finish(report.callId, report.state, report.reason);
      return;
    }
    this.audit.updated(report.callId, report.state, report.reason);
    if (report.state === 'answered') {
      this.#policy.answered(report.callId);
      this.#watchBudget();
    }
    const call = this.#calls.get(invitation.room)?.get(report.callId);
    if (!call) return; // the room has closed: nobody to show it to
    this.#publish(invitation.room, { ...call, state: report.state, reason: report.reason, peerId: report.peerId ?? call.peerId });
  }

  #finish(callId: string, state: DialOutCall['state'], reason: string | undefined): void {
    const invitation = this.#underway.get(callId);
    if (!invitation) return;
    this.#underway.delete(callId);
    invitation.gateway.active.delete(callId);
    const finalReason = invitation.endReason ?? reason;
    this.audit.updated(callId, state, finalReason, this.#policy.finished(callId));
    this.#watchBudget();
    const call = this.#calls.get(invitation.room)?.get(callId);
    if (call) this.#publish(invitation.room, { ...call, state, reason: finalReason });
  }

  /** Sets the timer for when the calls under way will have used up the day's minutes (none while nobody talks). */
  #watchBudget(): void {
    clearTimeout(this.#budgetTimer);
    this.#budgetTimer = undefined;
    const ms = this.#policy.budget.msUntilSpent;
    if (ms === undefined) return;
    this.#budgetTimer = setTimeout(() => {
      if (this.#policy.budget.spent) this.#endAllForBudget();
      else this.#watchBudget();
    }, ms);
    // Calls under way keep the process alive through their sockets; the timer alone must not.
    this.#budgetTimer.unref();
  }

  /** Today's minutes are used up: every call under way is ended through its gateway, saying why. */
  #endAllForBudget(): void {
    const reason = `today's ${this.#policy.budget.dailyMinutes} dial-out minutes are used up (${BUDGET_RULE})`;
    this.#logger.warn({ calls: this.#underway.size }, 'dial-out budget used up: ending the calls under way');
    for (const [callId, invitation] of this.#underway) {
      if (invitation.endReason) continue; // asked already: its gateway's report is on its way
      invitation.endReason = reason;
      invitation.gateway.channel.notify('dialOutCancelled', { callId, reason: 'budgetSpent' });
    }
  }

  /** The gateway with a trunk and the fewest calls under way. */
  #pickGateway(): GatewayLink | undefined {
    let best: GatewayLink | undefined;
    for (const gateway of this.#gateways) {
      if (gateway.dialOut && (!best || gateway.active.size < best.active.size)) best = gateway;
    }
    return best;
  }

  /** Records the call's new state in its room's list (last: the list stays in update order) and shows it to everyone there. */
  #publish(room: Room, call: DialOutCall): void {
    let calls = this.#calls.get(room);
    if (!calls) {
      if (room.closed) return;
      calls = new Map();
      this.#calls.set(room, calls);
      room.once('closed', () => this.#onRoomClosed(room));
    }
    calls.delete(call.id);
    calls.set(call.id, call);
    const finished = [...calls.values()].filter((c) => FINAL_DIAL_OUT_STATES.has(c.state));
    for (const old of finished.slice(0, -FINISHED_KEPT)) calls.delete(old.id);
    room.broadcast('dialOutUpdated', { call });
  }

  /** Nobody is left to join: stop ringing phones into the closed room, and forget its list. */
  #onRoomClosed(room: Room): void {
    this.#calls.delete(room);
    for (const [callId, invitation] of this.#underway) {
      if (invitation.room === room) invitation.gateway.channel.notify('dialOutCancelled', { callId, reason: 'roomClosed' });
    }
  }
}
