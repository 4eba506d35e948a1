// When a bridge serves a room whose home is another bridge, as its satellite
// (cascading), instead of sending the join there: the pure choice, apart
// from the directory so it can be tested on its own.
import type { BridgeRecord } from '../directory/placement.ts';

/** Why this bridge serves a join for a room homed elsewhere, or undefined: the join is sent to the home as before. */
export type SpanReason = 'region' | 'homeFull';

/**
 * `here`: this bridge's region, load and capacity now (0 while draining).
 * A join is served here when the client says it is in this bridge's region
 * and the home is in another (or says none), or when the home is full and
 * this bridge is not. A draining home (capacity 0) still takes its rooms'
 * joins: it is not full.
 */
export function spanReason(here: { region: string | undefined; load: number; capacity: number }, home: BridgeRecord, clientRegion: string | undefined): SpanReason | undefined {
  if (here.load >= here.capacity) return undefined;
  if (clientRegion !== undefined && clientRegion === here.region && home.region !== here.region) return 'region';
  if (home.capacity > 0 && home.load >= home.capacity) return 'homeFull';
  return undefined;
}

/** What the home knows of its room when a satellite asks to link (CascadeLinks.accept). */
export interface LinkTarget {
  /** Set when the room here is itself a satellite of another bridge's. */
  homeBridge: string | undefined;
  e2ee: boolean;
  /** A lock or the lobby: only the home checks who enters. */
  guardsEntry: boolean;
  /** The other bridges linked with the room now. */
  linkedBridges: ReadonlySet<string>;
}

/**
 * Satellites a room's home links at most. The home passes on what each
 * satellite sends (peers, chat, producers) to the others, so a room's bridges
 * form a star around it: every bridge gets each producer once, and the home
 * pipes each of its producers out once per satellite.
 */
export const MAX_SATELLITES = 8;

/**
 * Why the home refuses a satellite's link for this room, or undefined: it
 * takes it. The satellite then sends the join to the home. A room being
 * recorded or streamed is linked: every bridge hears the shared recording
 * queue (Recordings) and tells its own copy of the room, so the satellite's
 * participants are told.
 */
export function linkRefusal(name: string, room: LinkTarget | undefined, caller: string): string | undefined {
  if (!room || room.homeBridge !== undefined) return `room ${name} does not live on this bridge`;
  if (room.e2ee) return `room ${name} is end-to-end encrypted: it is served by its home bridge only`;
  if (room.guardsEntry) return `room ${name} is locked or has its lobby on: its joins are checked on its home bridge`;
  // The caller's own link, if any, is stale: the new one replaces it.
  const others = [...room.linkedBridges].filter((bridge) => bridge !== caller);
  if (others.length >= MAX_SATELLITES) return `room ${name} is already served by ${others.length} other bridges: ${MAX_SATELLITES} at most`;
  return undefined;
}
