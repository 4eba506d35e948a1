// Where the page goes when the room lives on another bridge (the join was
// answered 'elsewhere'): the same room path and query there, with a count of
// the moves so far. Bridges that disagree for a moment where a room lives, or
// a record naming the bridge the page is already on, must not send the page
// round forever.

/** Moves between bridges a page makes for one join before it gives up (as SignalingClient does). */
export const MAX_BRIDGE_MOVES = 2;
const MOVES = 'moves';

/** The page on the room's bridge, or undefined when following would go round (the same origin, or too many moves). */
export function roomsBridgePage(current: string, bridgeUrl: string): string | undefined {
  const here = new URL(current);
  const query = new URLSearchParams(here.search);
  const moves = Number(query.get(MOVES) ?? 0);
  const target = new URL(here.pathname, bridgeUrl);
  if (target.origin === here.origin || !(moves >= 0 && moves < MAX_BRIDGE_MOVES)) return undefined;
  query.set(MOVES, String(moves + 1));
  target.search = query.toString();
  return target.href;
}

/** The page's address without the count of moves, once it has joined (a link copied from it starts afresh). */
export function withoutMoves(current: string): string | undefined {
  const url = new URL(current);
  if (!url.searchParams.has(MOVES)) return undefined;
  url.searchParams.delete(MOVES);
  return url.href;
}
