// Where a page rejoins its room when its signaling connection drops: the
// bridge it was on first (the drop may have been the network's; last if it
// said it is shutting down), then the
// room's fallbacks from its last join answer, in the order the bridge gave
// them (the same for every client of the room, so they meet on one bridge).
import { SignalingError, signalingUrlOn } from '../../../protocol/SignalingClient.ts';

/**
 * The signaling URLs to try, in order: `current`, then each fallback bridge's
 * (once; a plain one is skipped when `current` is secure, as SignalingClient
 * never moves a secure connection to a plain one). `currentLeaving`: the
 * bridge said it is shutting down (a drain moving its rooms): it is not
 * asked first, unless there is nowhere else (a lone server restarting).
 */
export function failoverTargets(current: string, fallbacks: readonly string[], { currentLeaving = false } = {}): string[] {
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
  return currentLeaving && targets.length > 1 ? [...targets.slice(1), current] : targets;
}
