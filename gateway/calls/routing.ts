import { roomNameSchema } from '../../protocol/protocol.ts';
import { digitsOf, type GatewayConfig } from '../config.ts';

/** Where an incoming call goes. */
export type CallTarget = { kind: 'room'; room: string } | { kind: 'ivr' } | { kind: 'unknown'; reason: string };

/**
 * Routes an INVITE, in this order: an X-Room header from a trusted trunk; a
 * DID mapped to a room; a dial-in number (or any other number) to the PIN
 * prompt; a room name as the user part (sip:standup@host).
 */
export function routeCall(
  request: { calledNumber: string; roomHeader: string | undefined; trusted: boolean },
  inbound: GatewayConfig['inbound'],
): CallTarget {
  if (request.roomHeader !== undefined && request.trusted) {
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
    const room = inbound.didRooms.get(digitsOf(user));
    return room ? { kind: 'room', room } : { kind: 'ivr' };
  }
  if (user === '') return { kind: 'ivr' };
  const room = roomNameSchema.safeParse(user);
  return room.success ? { kind: 'room', room: room.data } : { kind: 'unknown', reason: `no room ${user}` };
}

/** Shows +15551230123 as +15 ••• 0123 when callers' numbers are private. */
export function maskNumber(number: string): string {
  const digits = number.replace(/[^0-9]/g, '');
  if (digits.length < 7) return '•••';
  return `${number.startsWith('+') ? '+' : ''}${digits.slice(0, 2)} ••• ${digits.slice(-4)}`;
}
