import { randomInt } from 'node:crypto';
import { RequestError } from '../signaling/RequestError.ts';

/**
 * The dial-in PINs held across the deployment, when this bridge shares one
 * (DialInPins): a PIN must be unique among every bridge's rooms, or a caller
 * could land in another bridge's meeting.
 */
export interface DeploymentPins {
  /**
   * Claims `pin` for `room`: false if another room of the deployment holds it.
   * Answers within a bounded time, true when it cannot tell (the PIN is then
   * unique on this bridge only).
   */
  claim(pin: string, room: string): Promise<boolean>;
  /** The room closed: its claim goes, if it is still its own. */
  release(pin: string, room: string): void;
  /** The room a PIN opens anywhere in the deployment. */
  roomOf(pin: string): Promise<string | undefined>;
}

/**
 * The dial-in PINs of live rooms: what phone callers enter in the IVR.
 * Random, so a PIN says nothing about other rooms; unique among live rooms
 * and rooms being made (and, with `deployment`, among the deployment's);
 * reserved until released when the room closes.
 */
export class RoomPins<R> {
  readonly #digits: number;
  readonly #random: (min: number, max: number) => number;
  readonly #deployment: DeploymentPins | undefined;
  /** Reserved PINs, with the name of the room each is for. */
  readonly #reserved = new Map<string, string>();
  readonly #rooms = new Map<string, R>();

  /** `random(min, max)`: an integer in [min, max); replaceable for tests. */
  constructor(digits: number, { random = randomInt, deployment }: { random?: (min: number, max: number) => number; deployment?: DeploymentPins } = {}) {
    this.#digits = digits;
    this.#random = random;
    this.#deployment = deployment;
  }

  /** A fresh PIN for the room named `room`, reserved until released; one another bridge holds is skipped. */
  async reserve(room: string): Promise<string> {
    const min = 10 ** (this.#digits - 1);
    const max = 10 ** this.#digits;
    // PINs the deployment refused this time: with the reserved ones, when they are all of them there is none left.
    const heldElsewhere = new Set<string>();
    for (;;) {
      if (this.#reserved.size + heldElsewhere.size >= max - min) throw new RequestError('unavailable', `every ${this.#digits}-digit dial-in PIN is in use`);
      const pin = String(this.#random(min, max));
      if (this.#reserved.has(pin) || heldElsewhere.has(pin)) continue;
      // Reserved here before asking the deployment, so a room made meanwhile on this bridge does not draw it too.
      this.#reserved.set(pin, room);
      if (!this.#deployment) return pin;
      const ours = await this.#deployment.claim(pin, room).catch((error: unknown) => {
        this.#reserved.delete(pin);
        throw error;
      });
      if (ours) return pin;
      this.#reserved.delete(pin);
      heldElsewhere.add(pin);
    }
  }

  /** The room is live: callers reach it with its reserved PIN. */
  assign(pin: string, room: R): void {
    if (!this.#reserved.has(pin)) throw new Error(`PIN ${pin} was not reserved`);
    this.#rooms.set(pin, room);
  }

  /** The live room a caller reaches with this PIN. */
  roomOf(pin: string): R | undefined {
    return this.#rooms.get(pin);
  }

  release(pin: string): void {
    const room = this.#reserved.get(pin);
    if (room === undefined) return;
    this.#rooms.delete(pin);
    this.#reserved.delete(pin);
    this.#deployment?.release(pin, room);
  }
}
