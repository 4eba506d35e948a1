/** RFC 3261 timer values (17.1.1.1, table 4), as drachtio-server/sofia use them by default. */
export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;
export const TIMER_64T1 = 64 * T1;
/** Client INVITE: how long a non-2xx final response is re-ACKed (17.1.1.2). */
export const TIMER_D = 32_000;
/** Client INVITE: give up after this long in Proceeding (like a proxy's timer C). */
export const TIMER_C = 185_000;
/** How long a new request waits for the app's first response before the engine forgets it (drachtio: 64 s). */
export const APP_RESPONSE_TIMEOUT = 64_000;

/** A set of named timers that can be cleared together. */
export class TimerSet {
  #timers = new Map<string, NodeJS.Timeout>();

  set(name: string, ms: number, fn: () => void): void {
    this.clear(name);
    const timer = setTimeout(() => {
      this.#timers.delete(name);
      fn();
    }, ms);
    timer.unref?.();
    this.#timers.set(name, timer);
  }

  clear(name: string): void {
    const timer = this.#timers.get(name);
    if (timer) clearTimeout(timer);
    this.#timers.delete(name);
  }

  clearAll(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }
}
