// How many signaling sockets each source address holds, so one address
// cannot take every socket the bridge can serve.

export class ConnectionsPerAddress {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Counts a new socket from `address`; false (not counted) when it already holds the maximum. */
  open(address: string): boolean {
    const count = this.#open.get(address) ?? 0;
    if (count >= this.#max) return false;
    this.#open.set(address, count + 1);
    return true;
  }

  close(address: string): void {
    const count = this.#open.get(address) ?? 0;
    if (count <= 1) this.#open.delete(address);
    else this.#open.set(address, count - 1);
  }

  /** Addresses with a socket open (bounded by the sockets themselves). */
  get addresses(): number {
    return this.#open.size;
  }
}
