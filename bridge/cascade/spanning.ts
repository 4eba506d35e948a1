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
