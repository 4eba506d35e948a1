// When the bridge of a room dies under the gateway's legs (its hidden
// listener and the callers' peers), they join the room again elsewhere: which
// ends mean the bridge was lost, where to try, and the loop that tries until a
// deadline. The legs themselves join as they always do (RoomAudio.open,
// PhonePeer.join); this only chooses where and when.
import { setTimeout as sleep } from 'node:timers/promises';
import { Backoff } from '../../common/backoff.ts';
import type { RoomAudioEnd } from '../../media/RoomAudio.ts';
import type { ErrorCode } from '../../protocol/protocol.ts';
import { SignalingError, signalingUrlOn } from '../../protocol/SignalingClient.ts';

/**
 * How long a caller stays on the line, hearing "reconnecting", for the room
 * to be back: a dead bridge's directory record lives 6 s (three heartbeats),
 * so a deployment that takes rooms over only once it has expired is still
 * well within this. Past it the caller is told and hung up.
 */
export const REJOIN_DEADLINE_MS = 20_000;

/**
 * How long one re-join waits for a bridge's socket to open. A dead bridge's
 * host that is still up refuses at once; a dead machine answers nothing, and
 * the default (10 s) would spend half the deadline on the first target.
 */
export const REJOIN_CONNECT_TIMEOUT_MS = 3000;

/**
 * A round of targets that all failed is tried again after this pause (then
 * doubling): the surviving bridges may still be agreeing on the room's new
 * home, and a refused connect fails at once, so without a pause the loop spins.
 */
const ROUND_PAUSE = { firstMs: 200, maxMs: 2000, jitter: 0.2 };

/** Refusals that another try, here or on another bridge, will not change. */
const FINAL_REFUSALS: ReadonlySet<SignalingError['code']> = new Set<ErrorCode>(['passwordRequired', 'notAdmitted', 'encrypted', 'forbidden', 'unauthorized']);

/**
 * Whether a participant's end means its bridge is gone (the connection broke,
 * or the bridge is shutting down), so it joins again elsewhere; anything else
 * (kicked, the room closed, the meeting ended, we left) ends it for good.
 */
export function lostTheBridge(reason: RoomAudioEnd): boolean {
  return reason === 'connectionLost' || reason === 'shuttingDown';
}

export interface RejoinPlaces {
  /** Where the room's audio already joined again, if it has: the room lives there now. */
  roomAt?: string;
  /** The signaling URL the lost connection was on (the bridge it ended up on after any redirect). */
  lost: string;
  /** The gateway's own bridge (BRIDGE_URL as a signaling URL). */
  configured: string;
  /** The public URLs of the other live bridges, from the lost connection's last join answer, in the room's order. */
  fallbacks: readonly string[];
}

/**
 * The signaling URLs to join at, in order and each once: where the room is
 * known to be back, the lost bridge (a bridge that merely dropped one socket
 * is still the room's home; a dead one refuses the connect at once), the
 * gateway's own bridge, then the room's fallbacks. `refused`: fallbacks not
 * used because they are plain HTTP while we connect securely (a service's
 * secret must not cross in the clear).
 */
export function rejoinTargets(places: RejoinPlaces): { targets: string[]; refused: string[] } {
  const targets = new Set<string>();
  const refused: string[] = [];
  for (const url of [places.roomAt, places.lost, places.configured]) if (url) targets.add(new URL(url).href);
  for (const fallback of places.fallbacks) {
    try {
      targets.add(signalingUrlOn(fallback, places.lost));
    } catch {
      refused.push(fallback);
    }
  }
  return { targets: [...targets], refused };
}

export interface RejoinOptions {
  /** Aborts the tries: the deadline, or the call ended. */
  signal: AbortSignal;
  /** A failure no other try will change, beyond the refusals every join shares (e.g. removed while joining). */
  isFinal?: (error: unknown) => boolean;
  /** Each failed try, for the log. */
  onFailure?: (url: string, error: unknown) => void;
}

/**
 * Joins at the first target that takes us, going round the targets (pausing
 * between rounds) until the signal aborts. A final refusal (locked, not
 * admitted, encrypted) stops at once; anything else (refused connect,
 * `elsewhere` to a dead bridge, a timeout) moves to the next target. A target
 * that let its try time out (a dead machine answers nothing) is tried after
 * the others in the next rounds: each try of it costs the whole connect
 * timeout, which would otherwise come before every round's live bridges.
 */
export async function rejoinAt<T>(targets: readonly string[], join: (url: string) => Promise<T>, options: RejoinOptions): Promise<T> {
  const { signal, isFinal = () => false, onFailure = () => {} } = options;
  if (targets.length === 0) throw new Error('rejoin: no bridge to try');
  const pauses = new Backoff(ROUND_PAUSE);
  const unanswered = new Set<string>();
  let last: unknown;
  for (;;) {
    const round = [...targets.filter((url) => !unanswered.has(url)), ...targets.filter((url) => unanswered.has(url))];
    for (const url of round) {
      if (signal.aborted) throw new RejoinGaveUp(last, signal.reason);
      try {
        return await join(url);
      } catch (error) {
        if ((error instanceof SignalingError && FINAL_REFUSALS.has(error.code)) || isFinal(error)) throw error;
        if (error instanceof SignalingError && error.code === 'timeout') unanswered.add(url);
        else unanswered.delete(url);
        last = error;
        onFailure(url, error);
      }
    }
    try {
      await sleep(pauses.next(), undefined, { signal });
    } catch {
      throw new RejoinGaveUp(last, signal.reason);
    }
  }
}

/** The deadline passed (or the call ended) before any bridge took the leg back. */
export class RejoinGaveUp extends Error {
  override name = 'RejoinGaveUp';

  constructor(last: unknown, reason: unknown) {
    super(`gave up re-joining (${describe(reason)}); last failure: ${describe(last)}`, { cause: last });
  }
}

function describe(value: unknown): string {
  return value instanceof Error ? value.message : String(value);
}
