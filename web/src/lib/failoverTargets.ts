// Where a page rejoins its room when its signaling connection drops: the
// bridge it was on first (the drop may have been the network's), then the
// room's fallbacks from its last join answer, in the order the bridge gave
// them (the same for every client of the room, so they meet on one bridge).
import { SignalingError, signalingUrlOn } from '../../../protocol/SignalingClient.ts';

/**
 * The signaling URLs to try, in order: `current`, then each fallback bridge's
 * (once; a plain one is skipped when `current` is secure, as SignalingClient
 * never moves a secure connection to a plain one).
 */
export function failoverTargets(current: string, fallbacks: readonly string[]): string[] {
  const targets = [current];
  for (const bridgeUrl of fallbacks) {
    let url: string;
    try {
      url = signalingUrlOn(bridgeUrl, current);
    } catch (error) {
      if (error instanceof SignalingError) continue;
      throw error;
    }
    if (!targets.includes(url)) targets.push(url);
  }
  return targets;
}
