/**
 * AUTH_MODE=secure: guests without a token whose room has no moderator wait
 * here, by room name, without a room being made for them (a stranger's wait
 * costs no media server). The session says when a moderator arrives; each
 * waiter then looks at the room again.
 */
export class HostWaits {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Resolves true when told a moderator arrived in `room`, false after `timeoutMs` or on `signal`'s abort. */
  wait(room: string, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const waiters = this.#waiting.get(room) ?? new Set();
      this.#waiting.set(room, waiters);
      const finish = (arrived: boolean) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', abandon);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiting.get(room) === waiters) this.#waiting.delete(room);
        resolve(arrived);
      };
      const wake = () => finish(true);
      const abandon = () => finish(false);
      const timer = setTimeout(abandon, timeoutMs);
      signal.addEventListener('abort', abandon, { once: true });
      waiters.add(wake);
      if (signal.aborted) abandon();
    });
  }

  /** Rooms with guests waiting for their host: not made yet, but this bridge's (the directory keeps them here). */
  rooms(): string[] {
    return [...this.#waiting.keys()];
  }

  /** A moderator is now in `room`: every guest waiting for it looks again. */
  arrived(room: string): void {
    for (const wake of [...(this.#waiting.get(room) ?? [])]) wake();
  }
}
