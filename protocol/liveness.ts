// How both ends of a signaling connection tell a live peer from a dead one.
// A half-open TCP connection (a laptop lid closed, a NAT dropping state) looks
// open for hours, so each side checks that the other still answers: the
// bridge with WebSocket ping frames (browsers and undici answer them without
// telling their page), clients with a `ping` request, since the standard
// WebSocket lets them neither send ping frames nor see pongs.

/** Each end pings the other this often. */
export const PING_INTERVAL_MS = 10_000;
/** An end that has not answered for this long is dead: the bridge drops the peer, a client closes and reconnects. */
export const PEER_TIMEOUT_MS = 30_000;
/** A socket that has not joined a room (or registered as a gateway) within this long is closed. */
export const JOIN_DEADLINE_MS = 10_000;

export interface LivenessTimes {
  pingIntervalMs: number;
  /** At least twice pingIntervalMs, so one late answer is not a death. */
  timeoutMs: number;
}

export const DEFAULT_LIVENESS: LivenessTimes = { pingIntervalMs: PING_INTERVAL_MS, timeoutMs: PEER_TIMEOUT_MS };

/** What is wrong with these times, if anything. */
export function livenessProblem({ pingIntervalMs, timeoutMs }: LivenessTimes): string | undefined {
  if (!(pingIntervalMs > 0)) return `the ping interval must be positive (got ${pingIntervalMs} ms)`;
  if (!(timeoutMs >= 2 * pingIntervalMs)) {
    return `the timeout (${timeoutMs} ms) must be at least twice the ping interval (${pingIntervalMs} ms), so one late answer is not a death`;
  }
  return undefined;
}

/** Close codes of the application range (4000-4999) for liveness failures, with their reasons. */
export const LIVENESS_CLOSE = {
  /** The bridge: the socket neither joined a room nor registered as a gateway in time. */
  joinDeadline: { code: 4008, reason: 'join a room or register within the deadline' },
  /** A client: the bridge did not answer within the timeout. */
  noAnswer: { code: 4009, reason: 'the bridge stopped answering' },
} as const;
