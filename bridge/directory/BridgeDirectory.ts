// The room directory in Redis, shared by every bridge of a deployment (as
// Jitsi's bridges report to Jicofo): each bridge publishes itself and its
// load under a key that expires unless its heartbeat refreshes it, and each
// room's home bridge is recorded, so a client that reaches another bridge is
// sent there. Keys live under one prefix:
//   <prefix>bridges          set of bridge ids (pruned of ids whose record expired)
//   <prefix>bridge:<id>      hash { url, load, capacity }, TTL three heartbeats (capacity 0: draining, no new rooms)
//   <prefix>room:<name>      the home bridge's id, TTL three heartbeats, refreshed by that bridge
// Redis being away never stops a bridge serving its own rooms: the directory
// logs, new rooms stay on the bridge they reached, and the next heartbeat
// tries again.
import crypto from 'node:crypto';
import { Redis, type Result } from 'ioredis';
import type { Logger } from '../../common/logger.ts';
import { chooseBridge, type BridgeRecord } from './placement.ts';

export const DIRECTORY_PREFIX = 'telebridge:directory:';
export const directoryKeys = {
  bridges: `${DIRECTORY_PREFIX}bridges`,
  bridge: (id: string) => `${DIRECTORY_PREFIX}bridge:${id}`,
  room: (name: string) => `${DIRECTORY_PREFIX}room:${name}`,
};
/**
 * A bridge record's signature: its id and URL under a key derived from the
 * deployment's shared secret (API_SECRET).
 */
export function recordSignature(secret: string, id: string, url: string): string {
  const key = crypto.createHmac('sha256', secret).update('telebridge room directory record').digest();
  return crypto.createHmac('sha256', key).update(`${id}\n${url}`).digest('base64url');
}

/** Records outlive this many missed heartbeats. */
const HEARTBEATS_PER_TTL = 3;
/** A directory call that takes longer is given up (the join goes on without it). */
const COMMAND_TIMEOUT_MS = 1000;

/**
 * KEYS[1] room key, KEYS[2] bridges set; ARGV[1] bridge key prefix.
 * Answers the room's recorded home (or '') then id, url, load, capacity of
 * every live bridge; ids whose record expired leave the set.
 */
const LOOKUP = `
local out = { redis.call('GET', KEYS[1]) or '' }
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local r = redis.call('HMGET', ARGV[1] .. id, 'url', 'load', 'capacity', 'sig')
  if r[1] then
    table.insert(out, id); table.insert(out, r[1]); table.insert(out, r[2]); table.insert(out, r[3]); table.insert(out, r[4] or '')
  else
    redis.call('SREM', KEYS[2], id)
  end
end
return out`;

/**
 * KEYS[1] room key; ARGV[1] chosen bridge id, ARGV[2] TTL ms, ARGV[3] bridge key prefix.
 * The room goes to the chosen bridge unless a live bridge holds it already
 * (two bridges placing it at once: one wins); the chosen bridge's load counts
 * the room at once, until its next heartbeat says its real load. Answers the
 * home's id and url. A chosen bridge whose record has gone (it stopped since
 * the lookup) is not given the room: the answer is empty, and no record is
 * made for it.
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then
  local url = redis.call('HGET', ARGV[3] .. current, 'url')
  if url then return { current, url } end
end
local url = redis.call('HGET', ARGV[3] .. ARGV[1], 'url')
if not url then return { '', '' } end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HINCRBY', ARGV[3] .. ARGV[1], 'load', 1)
return { ARGV[1], url }`;

/** KEYS: room keys of this bridge's rooms; ARGV[1] its id, ARGV[2] TTL ms. Extends its own, takes back expired ones, leaves others'. */
const REFRESH = `
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2])
  elseif not current then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return 0`;

/** KEYS: room keys; ARGV[1] this bridge's id. Removes those that are its own. */
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    directoryLookup(roomKey: string, bridgesKey: string, bridgePrefix: string): Result<string[], Context>;
    directoryClaim(roomKey: string, id: string, ttlMs: number, bridgePrefix: string): Result<[string, string], Context>;
    directoryRefresh(...args: (string | number)[]): Result<number, Context>;
    directoryRelease(...args: (string | number)[]): Result<number, Context>;
  }
}

export interface BridgeDirectoryOptions {
  redisUrl: string;
  /** This bridge: its id, the URL clients of other bridges are sent to, the peers it takes. */
  self: { id: string; url: string; capacity: number };
  heartbeatMs: number;
  /** What this bridge hosts now: its rooms' names and its peers, and whether it is draining (it takes no new rooms). */
  hosted: () => { rooms: string[]; load: number; draining: boolean };
  /**
   * The secret every bridge of the deployment shares (API_SECRET): each signs
   * its record's id and URL with it, and a record that does not verify is not
   * followed, so whoever can write to Redis cannot send clients (and forwarded
   * REST, credentials included) to an address of their choosing.
   */
  recordSecret: string;
  logger: Logger;
}

/** What a round trip to Redis is for: a join's (lookup, claim), or keeping the records (publish, release). */
type DirectoryCall = 'lookup' | 'claim' | 'publish' | 'release';

/** Where a room's joins go. */
export type RoomHome = { kind: 'here' } | { kind: 'elsewhere'; bridge: { id: string; url: string } } | { kind: 'full' };

export class BridgeDirectory {
  readonly #options: BridgeDirectoryOptions;
  readonly #redis: Redis;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #ttlMs: number;
  /** Whether the last call failed: the outage is logged once, and its end. */
  #failing = false;
  #stopped = false;
  readonly #signature: string;
  /** Bridges whose records did not verify, each warned of once. */
  readonly #unverified = new Set<string>();
  /** Redis round trips made so far, by what they were for (each script call or batch is one). */
  readonly roundTrips: Record<DirectoryCall, number> = { lookup: 0, claim: 0, publish: 0, release: 0 };

  private constructor(options: BridgeDirectoryOptions) {
    this.#options = options;
    this.#ttlMs = options.heartbeatMs * HEARTBEATS_PER_TTL;
    this.#signature = recordSignature(options.recordSecret, options.self.id, options.self.url);
    this.#redis = new Redis(options.redisUrl, {
      // A call made while Redis is away fails at once instead of queueing: joins do not wait for it.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: COMMAND_TIMEOUT_MS * 3,
    });
    this.#redis.on('error', () => {}); // reported by the calls that fail (#failed), once per outage
    this.#redis.defineCommand('directoryLookup', { numberOfKeys: 2, lua: LOOKUP });
    this.#redis.defineCommand('directoryClaim', { numberOfKeys: 1, lua: CLAIM });
    this.#redis.defineCommand('directoryRefresh', { lua: REFRESH });
    this.#redis.defineCommand('directoryRelease', { lua: RELEASE });
    this.#heartbeat = setInterval(() => void this.publish(), options.heartbeatMs);
  }

  /** Connects and publishes this bridge; if Redis cannot be reached yet, the bridge starts anyway and the heartbeat keeps trying. */
  static async start(options: BridgeDirectoryOptions): Promise<BridgeDirectory> {
    const directory = new BridgeDirectory(options);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COMMAND_TIMEOUT_MS * 3);
      directory.#redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await directory.publish();
    return directory;
  }

  get id(): string {
    return this.#options.self.id;
  }

  /**
   * Where a join for `room` goes: its recorded home if that bridge is live,
   * else the least-loaded live bridge, recorded as its home. Without Redis:
   * here.
   */
  async homeOf(room: string): Promise<RoomHome> {
    const found = await this.#lookup(room);
    if (!found) return { kind: 'here' };
    const { home, bridges } = found;
    if (home) return home.id === this.id ? { kind: 'here' } : { kind: 'elsewhere', bridge: home };
    const choice = chooseBridge(bridges, this.id);
    // A draining bridge that no other can relieve keeps the join, and refuses it saying it is shutting down (RoomRegistry).
    if (!choice) return this.#options.hosted().draining ? { kind: 'here' } : { kind: 'full' };
    const winner = await this.#call('claim', () =>
      this.#redis.directoryClaim(directoryKeys.room(room), choice.id, this.#ttlMs, directoryKeys.bridge('')),
    );
    // No answer (Redis away), or the chosen bridge left between the lookup and the claim: here.
    if (!winner?.[0]) return { kind: 'here' };
    const [id, url] = winner;
    if (id === this.id) return { kind: 'here' };
    // The room's holder as the claim found it: followed only if its record verified in the lookup.
    if (bridges.some((bridge) => bridge.id === id && bridge.url === url)) return { kind: 'elsewhere', bridge: { id, url } };
    this.#warnUnverified(id);
    return { kind: 'here' };
  }

  /** The live bridge other than this one that hosts `room`, if the directory says so (REST is forwarded there). */
  async elsewhere(room: string): Promise<{ id: string; url: string } | undefined> {
    const home = (await this.#lookup(room))?.home;
    return home && home.id !== this.id ? home : undefined;
  }

  /** Says this bridge is live, with its load now, and that its rooms are still its own. Called by the heartbeat, and at once when a room opens. */
  async publish(): Promise<void> {
    if (this.#stopped) return;
    const { rooms, load, capacity } = this.#current();
    const { self } = this.#options;
    await this.#call('publish', () => {
      const batch = this.#redis
        .multi()
        .hset(directoryKeys.bridge(self.id), { url: self.url, load, capacity, sig: this.#signature })
        .pexpire(directoryKeys.bridge(self.id), this.#ttlMs)
        .sadd(directoryKeys.bridges, self.id);
      if (rooms.length > 0) batch.directoryRefresh(rooms.length, ...rooms.map(directoryKeys.room), self.id, this.#ttlMs);
      return batch.exec();
    });
  }

  /** The room closed here: it has no home until it is placed again. */
  async roomClosed(room: string): Promise<void> {
    if (this.#stopped) return;
    await this.#call('release', () => this.#redis.directoryRelease(1, directoryKeys.room(room), this.id));
  }

  /** Leaves the directory at once, with this bridge's rooms. */
  async stop(rooms: string[]): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#heartbeat);
    const { id } = this;
    await this.#call('release', () => {
      const batch = this.#redis.multi().del(directoryKeys.bridge(id)).srem(directoryKeys.bridges, id);
      if (rooms.length > 0) batch.directoryRelease(rooms.length, ...rooms.map(directoryKeys.room), id);
      return batch.exec();
    });
    this.#redis.disconnect();
  }

  async #lookup(room: string): Promise<{ home: BridgeRecord | undefined; bridges: BridgeRecord[] } | undefined> {
    const reply = await this.#call('lookup', () => this.#redis.directoryLookup(directoryKeys.room(room), directoryKeys.bridges, directoryKeys.bridge('')));
    if (!reply) return undefined;
    const [homeId, ...fields] = reply;
    const bridges: BridgeRecord[] = [];
    for (let i = 0; i + 4 < fields.length; i += 5) {
      const [id, url, load, capacity, signature] = fields.slice(i, i + 5) as [string, string, string, string, string];
      if (this.#verifies(id, url, signature)) bridges.push({ id, url, load: Number(load), capacity: Number(capacity) });
      else this.#warnUnverified(id);
    }
    // Our own load and capacity as they are now, not as last published.
    const { self } = this.#options;
    const { load, capacity } = this.#current();
    const here = { ...self, load, capacity };
    const others = bridges.filter((bridge) => bridge.id !== self.id);
    return { home: homeId === self.id ? here : others.find((bridge) => bridge.id === homeId), bridges: [here, ...others] };
  }

  #verifies(id: string, url: string, signature: string): boolean {
    const expected = Buffer.from(recordSignature(this.#options.recordSecret, id, url));
    const given = Buffer.from(signature);
    return given.length === expected.length && crypto.timingSafeEqual(given, expected);
  }

  #warnUnverified(id: string): void {
    if (this.#unverified.has(id) || this.#unverified.size >= 100) return; // bounded: anyone writing to Redis may make up ids
    this.#unverified.add(id);
    this.#options.logger.warn({ bridge: id }, 'a room directory record does not verify: that bridge is ignored (every bridge must share API_SECRET; anyone else writing to Redis is refused)');
  }

  /** This bridge now: a draining bridge says it takes no one (capacity 0), so no bridge places a room on it. */
  #current(): { rooms: string[]; load: number; capacity: number } {
    const { rooms, load, draining } = this.#options.hosted();
    return { rooms, load, capacity: draining ? 0 : this.#options.self.capacity };
  }

  /** One round trip to Redis; undefined if it failed (logged once per outage). */
  async #call<T>(what: DirectoryCall, call: () => Promise<T>): Promise<T | undefined> {
    this.roundTrips[what]++;
    try {
      const result = await call();
      if (this.#failing) this.#options.logger.info('the room directory (Redis) answers again');
      this.#failing = false;
      return result;
    } catch (error) {
      if (!this.#failing) this.#options.logger.warn({ err: error, what }, 'the room directory (Redis) does not answer: new rooms stay on this bridge until it does');
      this.#failing = true;
      return undefined;
    }
  }
}
