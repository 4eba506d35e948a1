import { randomInt } from 'node:crypto';
import { RequestError } from '../signaling/RequestError.ts';

/**
 * The dial-in PINs of live rooms: what phone callers enter in the IVR.
 * Random, so a PIN says nothing about other rooms; unique among live rooms
 * and rooms being made; reserved until released when the room closes.
 */
export class RoomPins<R> {
  readonly #digits: number;
  readonly #random: (min: number, max: number) => number;
  readonly #reserved = new Set<string>();
  readonly #rooms = new Map<string, R>();

  /** `random(min, max)`: an integer in [min, max); replaceable for tests. */
  constructor(digits: number, random: (min: number, max: number) => number = randomInt) {
    this.#digits = digits;
    this.#random = random;
  }

  /** A fresh PIN, reserved until released. */
  reserve(): string {
    const min = 10 ** (this.#digits - 1);
    const max = 10 ** this.#digits;
    if (this.#reserved.size >= max - min) throw new RequestError('unavailable', `every ${this.#digits}-digit dial-in PIN is in use`);
    for (;;) {
      const pin = String(this.#random(min, max));
      if (this.#reserved.has(pin)) continue;
      this.#reserved.add(pin);
      return pin;
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
    this.#rooms.delete(pin);
    this.#reserved.delete(pin);
  }
}
