// Dial-in PINs unique across a deployment of several bridges sharing one
// Redis (beside the room directory): a PIN is claimed for its room when the
// room is made, so no two rooms of the deployment hold the same one and a
// caller cannot land in the wrong meeting; and any bridge answers the SIP
// gateway's PIN lookup with the room's name, whichever bridge hosts it (the
// directory sends the caller's join there). One key a PIN:
//   telebridge:directory:pin:<pin>   the room's name, TTL three heartbeats, refreshed by the bridge that claimed it
// Redis being away never stops a room being made: its PIN is then unique on
// this bridge only (logged once), and the next heartbeat claims it if it is
// still free.
import { Redis, type Result } from 'ioredis';
import type { Logger } from '../../common/logger.ts';
import { roomNameSchema } from '../../protocol/protocol.ts';
import type { DeploymentPins } from '../rooms/RoomPins.ts';
// Claims outlive as many missed heartbeats as the directory's room records, and a call is given up as soon.
import { COMMAND_TIMEOUT_MS, DIRECTORY_PREFIX, HEARTBEATS_PER_TTL } from './BridgeDirectory.ts';

export const dialInPinKey = (pin: string): string => `${DIRECTORY_PREFIX}pin:${pin}`;

/** KEYS: PIN keys; ARGV[1] TTL ms, ARGV[1 + i] the room of KEYS[i]. Extends this bridge's claims, takes back expired ones, leaves others'. */
const REFRESH = `
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1])
  elseif not current then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1]) end
end
return 0`;

/** KEYS: PIN keys; ARGV[i] the room of KEYS[i]. Removes the claims still held by those rooms (a PIN that expired and went to another room stays). */
const RELEASE = `
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then redis.call('DEL', key) end
end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dialInPinsRefresh(...args: (string | number)[]): Result<number, Context>;
    dialInPinsRelease(...args: (string | number)[]): Result<number, Context>;
  }
}

export interface DialInPinsOptions {
  redisUrl: string;
  /** The bridge's heartbeat (BRIDGE_HEARTBEAT_MS): its claims are refreshed as often. */
  heartbeatMs: number;
  logger: Logger;
}

export class DialInPins implements DeploymentPins {
  readonly #options: DialInPinsOptions;
  readonly #redis: Redis;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #ttlMs: number;
  /** The PINs of this bridge's rooms, with each room's name: refreshed by the heartbeat, claimed by it if Redis was away when the room was made. */
  readonly #held = new Map<string, string>();
  /** Whether the last call failed: the outage is logged once, and its end. */
  #failing = false;
  #stopped = false;

  private constructor(options: DialInPinsOptions) {
    this.#options = options;
    this.#ttlMs = options.heartbeatMs * HEARTBEATS_PER_TTL;
    this.#redis = new Redis(options.redisUrl, {
      // A call made while Redis is away fails at once instead of queueing: a room being made does not wait for it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS * 3,
    });
    this.#redis.on('error', () => {}); // reported by the calls that fail (#call), once per outage
    this.#redis.defineCommand('dialInPinsRefresh', { lua: REFRESH });
    this.#redis.defineCommand('dialInPinsRelease', { lua: RELEASE });
    this.#heartbeat = setInterval(() => void this.#refresh(), options.heartbeatMs);
  }

  /** Connects; if Redis cannot be reached yet, the bridge starts anyway (PINs unique on it only until Redis answers). */
  static async start(options: DialInPinsOptions): Promise<DialInPins> {
    const pins = new DialInPins(options);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COMMAND_TIMEOUT_MS * 3);
      pins.#redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return pins;
  }

  async claim(pin: string, room: string): Promise<boolean> {
    if (this.#stopped) return true;
    const claimed = await this.#call(async () => (await this.#redis.set(dialInPinKey(pin), room, 'PX', this.#ttlMs, 'NX')) === 'OK');
    if (claimed === false) return false;
    // Claimed, or Redis did not answer: the room takes the PIN either way (unique here), and the heartbeat keeps (or makes) its claim.
    this.#held.set(pin, room);
    return true;
  }

  release(pin: string, room: string): void {
    if (this.#held.get(pin) !== room) return;
    this.#held.delete(pin);
    if (this.#stopped) return;
    void this.#call(() => this.#redis.dialInPinsRelease(1, dialInPinKey(pin), room));
  }

  async roomOf(pin: string): Promise<string | undefined> {
    if (this.#stopped) return undefined;
    const found = roomNameSchema.safeParse(await this.#call(() => this.#redis.get(dialInPinKey(pin))));
    // Whatever else is found under the key (not a room name a bridge wrote) opens nothing.
    return found.success ? found.data : undefined;
  }

  /** Gives up this bridge's PINs at once (those still its own). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    const held = [...this.#held];
    this.#held.clear();
    if (held.length > 0) await this.#call(() => this.#redis.dialInPinsRelease(held.length, ...held.map(([pin]) => dialInPinKey(pin)), ...held.map(([, room]) => room)));
    this.#redis.disconnect();
  }

  async #refresh(): Promise<void> {
    if (this.#stopped || this.#held.size === 0) return;
    const held = [...this.#held];
    await this.#call(() => this.#redis.dialInPinsRefresh(held.length, ...held.map(([pin]) => dialInPinKey(pin)), this.#ttlMs, ...held.map(([, room]) => room)));
  }

  /** One round trip to Redis; undefined if it failed (logged once per outage). */
  async #call<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await call();
      if (this.#failing) this.#options.logger.info('dial-in PINs (Redis) answer again');
      this.#failing = false;
      return result;
    } catch (error) {
      if (!this.#failing) this.#options.logger.warn({ err: error }, 'dial-in PINs (Redis) do not answer: new rooms get PINs unique on this bridge only, and callers reach only its rooms, until Redis does');
      this.#failing = true;
      return undefined;
    }
  }
}
