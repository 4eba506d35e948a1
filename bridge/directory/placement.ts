// Which bridge a new room goes to, and which bridges its clients fall back
// to when they lose it: the pure choices, apart from Redis so they can be
// tested on their own.
import crypto from 'node:crypto';

/** A live bridge as the directory lists it. */
export interface BridgeRecord {
  id: string;
  /** Where clients of other bridges are sent (BRIDGE_PUBLIC_URL). */
  url: string;
  /** Peers it hosts (plus rooms placed on it since it last said so). */
  load: number;
  /** Peers it takes at most (BRIDGE_CAPACITY); 0 while it drains. */
  capacity: number;
  /** Where it is (BRIDGE_REGION), if it says. */
  region?: string;
}

/** Whether a new room may go to `bridge`: it is not draining (capacity 0) and not full. */
export function takesRooms(bridge: BridgeRecord): boolean {
  return bridge.capacity > 0 && bridge.load < bridge.capacity;
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
    if (!takesRooms(bridge)) continue;
    if (!best || comesFirst(bridge, best, preferred)) best = bridge;
  }
  return best;
}

/**
 * Which bridge a room whose home died goes to, when `here` (the bridge its
 * client's failover join reached) takes it over: `here`, which spares the
 * client a redirect, unless it takes no rooms (draining or full); then the
 * least-loaded of `others` (the live bridges but the dead one) that does, or
 * none.
 */
export function takeoverTarget(here: BridgeRecord, others: readonly BridgeRecord[]): BridgeRecord | undefined {
  return takesRooms(here) ? here : chooseBridge(others);
}

function comesFirst(a: BridgeRecord, b: BridgeRecord, preferred: string | undefined): boolean {
  // Cross-multiplied: no rounding in comparing load/capacity.
  const difference = a.load * b.capacity - b.load * a.capacity;
  if (difference !== 0) return difference < 0;
  if (a.id === preferred || b.id === preferred) return a.id === preferred;
  return a.id < b.id;
}

/**
 * The bridges in the order a room's clients try them when they lose the
 * room's bridge: rendezvous (highest random weight) hashing of the room's
 * name and each bridge's id. Every bridge ranks them alike for a room, so the
 * room's clients, whichever bridge answered their last join, meet on the
 * same one; different rooms rank them differently, so a dead bridge's rooms
 * spread over the others; and a bridge coming or going moves only the rooms
 * it ranks first.
 */
export function rendezvousOrder<T extends { id: string }>(room: string, bridges: readonly T[]): T[] {
  const weighed = bridges.map((bridge) => ({ bridge, weight: crypto.createHash('sha256').update(`${room}\n${bridge.id}`).digest('hex') }));
  return weighed.sort((a, b) => (a.weight < b.weight ? 1 : a.weight > b.weight ? -1 : 0)).map(({ bridge }) => bridge);
}
