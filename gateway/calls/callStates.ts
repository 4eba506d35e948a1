import type { Logger } from '../../common/logger.ts';

/**
 * Where an answered call stands: talking to the gateway (PIN or password
 * prompt, or a callee hearing the invitation), joining a room, on hold in its
 * lobby until a moderator decides, in it, or over.
 */
export type CallState = 'ivr' | 'joining' | 'inLobby' | 'inRoom' | 'ended';

/**
 * Every move a call may make. A refused join (wrong password, room locked)
 * goes back to the prompt; a lobby's refusal is final (the caller is told
 * and hung up); nothing comes back from 'ended'.
 */
const TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  ivr: ['joining', 'ended'],
  joining: ['ivr', 'inLobby', 'inRoom', 'ended'],
  inLobby: ['inRoom', 'ended'],
  inRoom: ['ended'],
  ended: [],
};

/**
 * One call's state, moved only along TRANSITIONS. Any other move is a bug in
 * the call flow: it is logged as one and refused, so the call keeps a state
 * that its resources (room, peer, RTP) still match.
 */
export class CallStates {
  readonly #callId: string;
  readonly #logger: Logger;
  #current: CallState = 'ivr';

  constructor(callId: string, logger: Logger) {
    this.#callId = callId;
    this.#logger = logger;
  }

  get current(): CallState {
    return this.#current;
  }

  /** Moves to `to`; false (and an error logged) when that move is not in the table. */
  moveTo(to: CallState): boolean {
    const from = this.#current;
    if (!TRANSITIONS[from].includes(to)) {
      this.#logger.error({ from, to, callId: this.#callId }, 'bug: illegal call state transition refused');
      return false;
    }
    this.#current = to;
    return true;
  }
}
