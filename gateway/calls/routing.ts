import { roomNameSchema, type AuthMode } from '../../protocol/protocol.ts';
import { digitsOf, type GatewayConfig } from '../config.ts';

/**
 * Where an incoming call goes: `room` straight in (a trusted trunk's X-Room
 * or DID), `roomUri` a room by its name (sip:standup@host; in only where that
 * room lets anyone in, see `roomUriOpens`), `ivr` the PIN prompt.
 */
export type CallTarget =
  | { kind: 'room'; room: string }
  | { kind: 'roomUri'; room: string }
  | { kind: 'ivr' }
  | { kind: 'unknown'; reason: string };

/**
 * Routes an INVITE, in this order: an X-Room header from a trusted trunk; a
 * DID a trunk calls, mapped to a room; a dial-in number (or any other number)
 * to the PIN prompt; a room name as the user part (sip:standup@host).
 * Anyone else's X-Room is ignored, and their DIDs are plain numbers: only
 * SIP_TRUNK_SOURCES may skip the PIN.
 */
export function routeCall(
  request: { calledNumber: string; roomHeader: string | undefined; fromTrunk: boolean },
  inbound: GatewayConfig['inbound'],
): CallTarget {
  if (request.roomHeader !== undefined && request.fromTrunk) {
    const room = roomNameSchema.safeParse(request.roomHeader.trim());
    return room.success ? { kind: 'room', room: room.data } : { kind: 'unknown', reason: 'X-Room is not a valid room name' };
  }
  let user: string;
  try {
    user = decodeURIComponent(request.calledNumber);
  } catch {
    return { kind: 'unknown', reason: 'malformed request URI' };
  }
  if (/^\+?[0-9]+$/.test(user)) {
    const room = request.fromTrunk ? inbound.didRooms.get(digitsOf(user)) : undefined;
    return room ? { kind: 'room', room } : { kind: 'ivr' };
  }
  if (user === '') return { kind: 'ivr' };
  const room = roomNameSchema.safeParse(user);
  return room.success ? { kind: 'roomUri', room: room.data } : { kind: 'unknown', reason: `no room ${user}` };
}

/**
 * Whether a caller dialling a room's URI goes straight in: only where anyone
 * may, a room without a lobby on an open bridge (AUTH_MODE=open). Anywhere
 * else (token or secure mode, a lobby, or the bridge's mode not known) the
 * caller is asked for the PIN, and the bridge then makes the phone knock.
 */
export function roomUriOpens(rules: { authMode: AuthMode | undefined; lobby: boolean }): boolean {
  return rules.authMode === 'open' && !rules.lobby;
}

/** Shows +15551230123 as +15 ••• 0123 when callers' numbers are private. */
export function maskNumber(number: string): string {
  const digits = number.replace(/[^0-9]/g, '');
  if (digits.length < 7) return '•••';
  return `${number.startsWith('+') ? '+' : ''}${digits.slice(0, 2)} ••• ${digits.slice(-4)}`;
}
