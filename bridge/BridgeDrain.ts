// Draining a bridge before it stops (as a Jitsi videobridge's graceful
// shutdown): it takes no new rooms (the directory places them on other
// bridges, and a join that would open one here is refused), while the rooms
// it hosts run until their participants have left. Then, or at the deadline,
// the drain is done and the process stops the bridge (closing what is left as
// a plain stop does).
import type { Logger } from '../common/logger.ts';
import type { RoomRegistry } from './rooms/RoomRegistry.ts';

/** Who asked for the drain. */
export type DrainCause = 'SIGTERM' | 'operator';

/** What REST reports of the drain. */
export interface DrainState {
  draining: boolean;
  /** Unset until the drain starts. */
  startedBy?: DrainCause;
  /** ISO time: the rooms still open then are closed. */
  deadline?: string;
  rooms: number;
  /** Visible participants (recorders and other services not counted) in those rooms. */
  participants: number;
}

export interface BridgeDrainOptions {
  registry: RoomRegistry;
  /** Seconds the rooms get when the caller names none (BRIDGE_DRAIN_TIMEOUT_SECONDS). */
  timeoutSeconds: number;
  /** Told when the drain starts (the directory publishes at once that this bridge takes no new rooms). */
  started: () => void;
  logger: Logger;
}

/**
 * A room's last participant leaving leaves its hidden peers (recorders, the
 * gateway's services), and no event says so: the rooms are looked at this
 * often while draining.
 */
const CHECK_INTERVAL_MS = 250;

/** The one owner of this bridge's drain: whether it takes new rooms, and when it is done. */
export class BridgeDrain {
  readonly #options: BridgeDrainOptions;
  #started: { by: DrainCause; deadline: number; timer: ReturnType<typeof setTimeout>; check: ReturnType<typeof setInterval> } | undefined;
  #resolveDone!: () => void;
  /** Settles when the drain is over: its rooms ended, or its deadline passed. */
  readonly done = new Promise<void>((resolve) => (this.#resolveDone = resolve));
  #over = false;

  constructor(options: BridgeDrainOptions) {
    this.#options = options;
  }

  get draining(): boolean {
    return this.#started !== undefined;
  }

  /** Why a new room may not open here, or undefined while it may. */
  get newRoomRefusal(): string | undefined {
    return this.draining ? 'this bridge is shutting down: it takes no new meetings' : undefined;
  }

  /**
   * Starts the drain, or, when it runs already, brings its deadline forward
   * if this one is sooner (a SIGTERM after an operator's long drain still
   * stops within the stop timeout).
   */
  start(by: DrainCause, timeoutSeconds = this.#options.timeoutSeconds): DrainState {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const { logger, registry } = this.#options;
    if (this.#started) {
      if (deadline < this.#started.deadline && !this.#over) {
        clearTimeout(this.#started.timer);
        this.#started.deadline = deadline;
        this.#started.timer = setTimeout(() => this.#deadlinePassed(), timeoutSeconds * 1000);
        logger.info({ by, deadline: new Date(deadline).toISOString() }, 'drain deadline brought forward');
      }
      return this.state();
    }
    this.#started = {
      by,
      deadline,
      timer: setTimeout(() => this.#deadlinePassed(), timeoutSeconds * 1000),
      check: setInterval(() => this.#check(), CHECK_INTERVAL_MS),
    };
    logger.info({ by, rooms: registry.size, deadline: new Date(deadline).toISOString() }, 'draining: no new rooms; the bridge stops when its rooms have ended');
    this.#options.started();
    this.#check();
    return this.state();
  }

  state(): DrainState {
    const rooms = this.#options.registry.list();
    const participants = rooms.reduce((sum, room) => sum + room.visiblePeers().length, 0);
    if (!this.#started) return { draining: false, rooms: rooms.length, participants };
    return { draining: true, startedBy: this.#started.by, deadline: new Date(this.#started.deadline).toISOString(), rooms: rooms.length, participants };
  }

  /** A room closed here (its last peer left, or the drain closed it). */
  roomClosed(name: string): void {
    if (!this.#started || this.#over) return;
    const { registry, logger } = this.#options;
    logger.info({ room: name, roomsLeft: registry.size }, 'draining: room ended');
    if (registry.size === 0) this.#finish('every room has ended');
  }

  /** Closes the rooms whose participants have all left (their hidden peers go with them); done when none is left. */
  #check(): void {
    if (this.#over) return;
    const { registry } = this.#options;
    for (const room of registry.list()) if (room.visiblePeers().length === 0) room.close('roomClosed');
    if (registry.size === 0) this.#finish('every room has ended');
  }

  #deadlinePassed(): void {
    const { registry, logger } = this.#options;
    logger.warn({ rooms: registry.list().map((room) => room.name) }, 'drain deadline passed: closing the rooms still open');
    this.#finish('deadline passed');
  }

  #finish(why: string): void {
    if (this.#over || !this.#started) return;
    this.#over = true;
    clearTimeout(this.#started.timer);
    clearInterval(this.#started.check);
    this.#options.logger.info({ why }, 'drained');
    this.#resolveDone();
  }
}
