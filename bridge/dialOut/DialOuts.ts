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

/** A SIP gateway connected to this bridge for dial-out (Jicofo's Jigasi brewery, in one map). */
export interface GatewayLink {
  readonly channel: PeerChannel;
  name: string;
  dialOut: boolean;
  trunkRegistration: TrunkRegistration | null;
  /** Invitations under way on this gateway. */
  readonly active: Set<string>;
}

interface Invitation {
  call: DialOutCall;
  room: Room;
  gateway: GatewayLink;
}

/** Invitations under way per room, against a runaway inviter. */
const MAX_ACTIVE_PER_ROOM = 10;

/**
 * Phone invitations: picks a gateway for each, relays cancellation to it, and
 * turns its progress reports into room notifications.
 */
export class DialOuts {
  readonly #gateways = new Set<GatewayLink>();
  readonly #invitations = new Map<string, Invitation>();
  readonly #watchedRooms = new WeakSet<Room>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get available(): boolean {
    return [...this.#gateways].some((g) => g.dialOut);
  }

  get gateways(): readonly GatewayLink[] {
    return [...this.#gateways];
  }

  addGateway(gateway: GatewayLink): void {
    this.#gateways.add(gateway);
    this.#logger.info({ gateway: gateway.name, dialOut: gateway.dialOut }, 'SIP gateway registered');
  }

  /** The gateway went away: what it was calling has failed. */
  removeGateway(gateway: GatewayLink): void {
    if (!this.#gateways.delete(gateway)) return;
    this.#logger.info({ gateway: gateway.name }, 'SIP gateway gone');
    for (const callId of gateway.active) this.#finish(callId, 'failed', 'the SIP gateway disconnected');
  }

  start(room: Room, requestedBy: string, number: string): DialOutCall {
    const active = [...this.#invitations.values()].filter((i) => i.room === room).length;
    if (active >= MAX_ACTIVE_PER_ROOM) throw new RequestError('forbidden', `at most ${MAX_ACTIVE_PER_ROOM} phone invitations at once per room`);
    const gateway = this.#pickGateway();
    if (!gateway) throw new RequestError('unavailable', 'phone invitations are unavailable: no SIP gateway with a trunk is connected');
    const call: DialOutCall = { id: randomUUID(), number, state: 'calling', requestedBy, startedAt: Date.now() };
    if (!this.#watchedRooms.has(room)) {
      this.#watchedRooms.add(room);
      room.once('closed', () => this.#onRoomClosed(room));
    }
    this.#invitations.set(call.id, { call, room, gateway });
    gateway.active.add(call.id);
    room.publishDialOut(call);
    gateway.channel.notify('dialOutRequested', { callId: call.id, room: room.name, number, password: room.password });
    this.#logger.info({ room: room.name, call: call.id, gateway: gateway.name }, 'dialing out');
    return call;
  }

  cancel(room: Room, callId: string): void {
    const invitation = this.#invitations.get(callId);
    if (!invitation || invitation.room !== room) throw new RequestError('notFound', `no phone invitation ${callId} under way in this room`);
    invitation.gateway.channel.notify('dialOutCancelled', { callId });
  }

  /** A gateway's progress report on one of its calls. */
  report(gateway: GatewayLink, report: ParsedRequestData<'reportDialOut'>): void {
    const invitation = this.#invitations.get(report.callId);
    if (!invitation || invitation.gateway !== gateway) throw new RequestError('notFound', `no invitation ${report.callId} on this gateway`);
    if (FINAL_DIAL_OUT_STATES.has(report.state)) {
      this.#finish(report.callId, report.state, report.reason);
      return;
    }
    invitation.call = { ...invitation.call, state: report.state, reason: report.reason, peerId: report.peerId ?? invitation.call.peerId };
    invitation.room.publishDialOut(invitation.call);
  }

  #finish(callId: string, state: DialOutCall['state'], reason: string | undefined): void {
    const invitation = this.#invitations.get(callId);
    if (!invitation) return;
    this.#invitations.delete(callId);
    invitation.gateway.active.delete(callId);
    const call = { ...invitation.call, state, reason };
    if (!invitation.room.closed) invitation.room.publishDialOut(call);
    this.#logger.info({ room: invitation.room.name, call: callId, state, reason }, 'dial-out finished');
  }

  /** The gateway with a trunk and the fewest calls under way. */
  #pickGateway(): GatewayLink | undefined {
    let best: GatewayLink | undefined;
    for (const gateway of this.#gateways) {
      if (gateway.dialOut && (!best || gateway.active.size < best.active.size)) best = gateway;
    }
    return best;
  }

  /** Nobody is left to join: stop ringing phones into the closed room. */
  #onRoomClosed(room: Room): void {
    for (const [callId, invitation] of this.#invitations) {
      if (invitation.room === room) invitation.gateway.channel.notify('dialOutCancelled', { callId });
    }
  }
}
