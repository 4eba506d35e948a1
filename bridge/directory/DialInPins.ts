// Dial-in PINs unique across a deployment of several bridges sharing one
// Redis (beside the room directory): a PIN is claimed for its room when the
// room is made, so no two rooms of the deployment hold the same one and a
// caller cannot land in the wrong meeting; and any bridge answers the SIP
// gateway's PIN lookup with the room's name, whichever bridge hosts it (the
// directory sends the caller's join there). One key a PIN:
//   telebridge:directory:pin:<pin>   "<room>\n<signature>", TTL three heartbeats, refreshed by the bridge that claimed it
// The signature (dialInPinValue) is over the PIN and the room under a key
// derived from API_SECRET, as bridge records are: whoever can write to Redis
// but does not hold the secret cannot lead a PIN's callers to a room.
// Redis being away never stops a room being made: its PIN is then unique on
// this bridge only (logged once), and the next heartbeat claims it if it is
// still free.
import crypto from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Logger } from '../../common/logger.ts';
import { roomNameSchema } from '../../protocol/protocol.ts';
import type { DeploymentPins } from '../rooms/RoomPins.ts';
// Claims outlive as many missed heartbeats as the directory's room records.
import { DIRECTORY_PREFIX, HEARTBEATS_PER_TTL } from './BridgeDirectory.ts';
import { DirectoryRedis } from './directoryRedis.ts';

export const dialInPinKey = (pin: string): string => `${DIRECTORY_PREFIX}pin:${pin}`;

/**
 * What a PIN's key holds: the room's name and its signature, over the PIN
 * too (a value copied to another PIN's key does not verify), under a key
 * derived from the deployment's shared secret (API_SECRET) with a label of
 * its own (a bridge record's signature is never a PIN's).
 */
export function dialInPinValue(secret: string, pin: string, room: string): string {
  const key = crypto.createHmac('sha256', secret).update('telebridge dial-in PIN').digest();
  return `${room}\n${crypto.createHmac('sha256', key).update(`${pin}\n${room}`).digest('base64url')}`;
}

/** What the bridge logs (warn) of claims it does not trust, or that collide with its own. */
export const DIAL_IN_PIN_WARNINGS = {
  unverified: 'a dial-in PIN\'s claim in Redis does not verify: it opens no room (every bridge must share API_SECRET; anyone else writing to Redis is refused)',
  heldElsewhere: 'dial-in PINs of rooms here are held by other rooms of the deployment too (claimed while Redis was away): callers with them reach the other rooms',
};

/** PIN keys whose value does not verify that are warned of at most (anyone writing to Redis may make up keys). */
const MAX_UNVERIFIED_WARNINGS = 100;

/**
 * KEYS: PIN keys; ARGV[1] TTL ms, ARGV[1 + i] this bridge's value of KEYS[i].
 * Extends this bridge's claims, takes back expired ones, leaves others'.
 * Answers the indexes (from 1) of the keys another value holds: a PIN that
 * expired while Redis was away (or was claimed meanwhile by a bridge that did
 * not reach this one's claim) is now another room's too.
 */
const REFRESH = `
local elsewhere = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == ARGV[i + 1] then redis.call('PEXPIRE', key, ARGV[1])
  elseif not current then redis.call('SET', key, ARGV[i + 1], 'PX', ARGV[1])
  else table.insert(elsewhere, i) end
end
return elsewhere`;

/** KEYS: PIN keys; ARGV[i] this bridge's value of KEYS[i]. Removes the claims still its own (a PIN that expired and went to another room stays). */
const RELEASE = `
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then redis.call('DEL', key) end
end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    dialInPinsRefresh(...args: (string | number)[]): Result<number[], Context>;
    dialInPinsRelease(...args: (string | number)[]): Result<number, Context>;
  }
}

export interface DialInPinsOptions {
  redisUrl: string;
  /** The bridge's heartbeat (BRIDGE_HEARTBEAT_MS): its claims are refreshed as often. */
  heartbeatMs: number;
  /** The secret every bridge of the deployment shares (API_SECRET): PIN claims are signed with it (dialInPinValue). */
  secret: string;
  logger: Logger;
}

export class DialInPins implements DeploymentPins {
  readonly #options: DialInPinsOptions;
  /** Its calls fail at once while Redis is away: a room being made does not wait for it. */
  readonly #connection: DirectoryRedis;
  readonly #redis: Redis;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #ttlMs: number;
  /** The PINs of this bridge's rooms, with each room's name: refreshed by the heartbeat, claimed by it if Redis was away when the room was made. */
  readonly #held = new Map<string, string>();
  /** PINs whose key held a value that does not verify, warned of once each (bounded). */
  readonly #unverified = new Set<string>();
  /** PINs of this bridge's rooms the last heartbeat found held by other rooms too: warned of once while so. */
  readonly #heldElsewhere = new Set<string>();
  #stopped = false;

  private constructor(options: DialInPinsOptions) {
    this.#options = options;
    this.#ttlMs = options.heartbeatMs * HEARTBEATS_PER_TTL;
    this.#connection = new DirectoryRedis(options.redisUrl, options.logger, {
      down: 'dial-in PINs (Redis) do not answer: new rooms get PINs unique on this bridge only, and callers reach only its rooms, until Redis does',
      back: 'dial-in PINs (Redis) answer again',
    });
    this.#redis = this.#connection.redis;
    this.#redis.defineCommand('dialInPinsRefresh', { lua: REFRESH });
    this.#redis.defineCommand('dialInPinsRelease', { lua: RELEASE });
    this.#heartbeat = setInterval(() => void this.#refresh(), options.heartbeatMs);
  }

  /** Connects; if Redis cannot be reached yet, the bridge starts anyway (PINs unique on it only until Redis answers). */
  static async start(options: DialInPinsOptions): Promise<DialInPins> {
    const pins = new DialInPins(options);
    await pins.#connection.connected();
    return pins;
  }

  async claim(pin: string, room: string): Promise<boolean> {
    if (this.#stopped) return true;
    const claimed = await this.#connection.call(async () => (await this.#redis.set(dialInPinKey(pin), this.#value(pin, room), 'PX', this.#ttlMs, 'NX')) === 'OK');
    if (claimed === false) return false;
    // Claimed, or Redis did not answer: the room takes the PIN either way (unique here), and the heartbeat keeps (or makes) its claim.
    this.#held.set(pin, room);
    return true;
  }

  release(pin: string, room: string): void {
    if (this.#held.get(pin) !== room) return;
    this.#held.delete(pin);
    if (this.#stopped) return;
    void this.#connection.call(() => this.#redis.dialInPinsRelease(1, dialInPinKey(pin), this.#value(pin, room)));
  }

  async roomOf(pin: string): Promise<string | undefined> {
    if (this.#stopped) return undefined;
    const value = await this.#connection.call(() => this.#redis.get(dialInPinKey(pin)));
    if (value === null || value === undefined) return undefined;
    // Whatever else is found under the key (not a room name a bridge of the deployment signed) opens nothing.
    const newline = value.indexOf('\n');
    const room = roomNameSchema.safeParse(newline > 0 ? value.slice(0, newline) : undefined);
    if (room.success && this.#verifies(value, this.#value(pin, room.data))) return room.data;
    this.#warnUnverified(pin);
    return undefined;
  }

  /** Gives up this bridge's PINs at once (those still its own). */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    const held = [...this.#held];
    this.#held.clear();
    if (held.length > 0) await this.#connection.call(() => this.#redis.dialInPinsRelease(held.length, ...held.map(([pin]) => dialInPinKey(pin)), ...held.map(([pin, room]) => this.#value(pin, room))));
    this.#redis.disconnect();
  }

  async #refresh(): Promise<void> {
    if (this.#stopped || this.#held.size === 0) return;
    const held = [...this.#held];
    const elsewhere = await this.#connection.call(() => this.#redis.dialInPinsRefresh(held.length, ...held.map(([pin]) => dialInPinKey(pin)), this.#ttlMs, ...held.map(([pin, room]) => this.#value(pin, room))));
    if (!elsewhere) return;
    const now = new Set(elsewhere.map((index) => held[index - 1]![0]));
    // The room keeps its PIN (no notification tells its clients of a new one): a caller with it reaches whichever room Redis names, so it is said.
    const rooms = held.filter(([pin]) => now.has(pin) && !this.#heldElsewhere.has(pin)).map(([pin, room]) => ({ pin, room }));
    if (rooms.length > 0) this.#options.logger.warn({ rooms }, DIAL_IN_PIN_WARNINGS.heldElsewhere);
    this.#heldElsewhere.clear();
    for (const pin of now) this.#heldElsewhere.add(pin);
  }

  #value(pin: string, room: string): string {
    return dialInPinValue(this.#options.secret, pin, room);
  }

  #verifies(given: string, expected: string): boolean {
    const a = Buffer.from(given);
    const b = Buffer.from(expected);
    return a.length === b.length && crypto.timingSafeEqual(a, b);
  }

  #warnUnverified(pin: string): void {
    if (this.#unverified.has(pin) || this.#unverified.size >= MAX_UNVERIFIED_WARNINGS) return;
    this.#unverified.add(pin);
    this.#options.logger.warn({ pin }, DIAL_IN_PIN_WARNINGS.unverified);
  }
}
