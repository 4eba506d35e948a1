/** What placing a receiver needs to know of a media worker. */
export interface ConsumerLoad {
  /** Consumers the worker carries, for every room on it. */
  readonly consumers: number;
}

/**
 * Which worker a room's next receive transport goes to. `room`: the live
 * workers the room has a router on; `others`: the live workers it has none
 * on. The least-loaded of the room's workers while it carries fewer than
 * `spreadAt` consumers. Past that, the least-loaded other worker when it
 * carries fewer than that one (the room then takes a router there); else the
 * least-loaded of the room's, as a room cannot get lighter than its lightest.
 */
export function placeReceiver<W extends ConsumerLoad>(room: readonly W[], others: readonly W[], spreadAt: number): W {
  const lightest = (workers: readonly W[]) =>
    workers.reduce<W | undefined>((best, w) => (!best || w.consumers < best.consumers ? w : best), undefined);
  const own = lightest(room);
  if (!own) throw new Error('a room places receivers only on workers it has a router on');
  if (own.consumers < spreadAt) return own;
  const other = lightest(others);
  return other && other.consumers < own.consumers ? other : own;
}
