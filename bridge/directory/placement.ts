// Which bridge a new room goes to: the pure choice, apart from Redis so it
// can be tested on its own.

/** A live bridge as the directory lists it. */
export interface BridgeRecord {
  id: string;
  /** Where clients of other bridges are sent (BRIDGE_PUBLIC_URL). */
  url: string;
  /** Peers it hosts (plus rooms placed on it since it last said so). */
  load: number;
  /** Peers it takes at most (BRIDGE_CAPACITY); 0 while it drains. */
  capacity: number;
}

/**
 * The least-loaded bridge (load relative to capacity) that is not full, or
 * undefined when every bridge is full or none is live. On a tie, `preferred`
 * (the bridge deciding) wins, which spares the client a redirect; other ties
 * go by id, so every bridge decides alike.
 */
export function chooseBridge(bridges: readonly BridgeRecord[], preferred?: string): BridgeRecord | undefined {
  let best: BridgeRecord | undefined;
  for (const bridge of bridges) {
    if (!(bridge.capacity > 0) || bridge.load >= bridge.capacity) continue;
    if (!best || comesFirst(bridge, best, preferred)) best = bridge;
  }
  return best;
}

function comesFirst(a: BridgeRecord, b: BridgeRecord, preferred: string | undefined): boolean {
  // Cross-multiplied: no rounding in comparing load/capacity.
  const difference = a.load * b.capacity - b.load * a.capacity;
  if (difference !== 0) return difference < 0;
  if (a.id === preferred || b.id === preferred) return a.id === preferred;
  return a.id < b.id;
}
