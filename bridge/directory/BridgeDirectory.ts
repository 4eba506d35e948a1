// The room directory in Redis, shared by every bridge of a deployment (as
// Jitsi's bridges report to Jicofo): each bridge publishes itself and its
// load under a key that expires unless its heartbeat refreshes it, and each
// room's home bridge is recorded, so a client that reaches another bridge is
// sent there. Keys live under one prefix:
//   <prefix>bridges          set of bridge ids (pruned of ids whose record expired)
//   <prefix>bridge:<id>      hash { url, load, capacity, sig, region? }, TTL three heartbeats (capacity 0: draining, no new rooms)
//   <prefix>room:<name>      the home bridge's id, TTL three heartbeats, refreshed by that bridge
// Redis being away never stops a bridge serving its own rooms: the directory
// logs, new rooms stay on the bridge they reached, and the next heartbeat
// tries again.
//
// Failover: a room's clients that lose its bridge rejoin through the room's
// fallbacks (the other live bridges, in an order they all share) saying so
// (bridgeLost); the bridge they reach probes the recorded home and, if it does
// not answer, takes the room over at once, without waiting for its record to
// expire. A verdict of "dead" may be wrong (a slow home, or one this bridge
// cannot reach): the home keeps its record, and at its next heartbeat finds
// the room held elsewhere and closes its copy, saying it shuts down, so its
// clients rejoin through their fallbacks and meet on the room's one home
// (heldElsewhere; this heals a split left by a Redis outage as well).
import crypto from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Logger } from '../../common/logger.ts';
import { MAX_BRIDGE_FALLBACKS } from '../../protocol/protocol.ts';
import { bridgeAnswers, BridgeVerdicts } from './bridgeProbe.ts';
import { DirectoryRedis } from './directoryRedis.ts';
import { chooseBridge, rendezvousOrder, takeoverTarget, type BridgeRecord } from './placement.ts';

export const DIRECTORY_PREFIX = 'telebridge:directory:';
export const directoryKeys = {
  bridges: `${DIRECTORY_PREFIX}bridges`,
  bridge: (id: string) => `${DIRECTORY_PREFIX}bridge:${id}`,
  room: (name: string) => `${DIRECTORY_PREFIX}room:${name}`,
};
/**
 * A bridge record's signature: its id, URL and region (if it has one: a
 * record's region cannot be added nor taken away) under a key derived from
 * the deployment's shared secret (API_SECRET).
 */
export function recordSignature(secret: string, id: string, url: string, region?: string): string {
  const key = crypto.createHmac('sha256', secret).update('telebridge room directory record').digest();
  return crypto.createHmac('sha256', key).update(region === undefined ? `${id}\n${url}` : `${id}\n${url}\n${region}`).digest('base64url');
}
/** Fields each live bridge takes in a lookup's answer (APPEND_LIVE_BRIDGES). */
const RECORD_FIELDS = 6;

/** Records outlive this many missed heartbeats. */
export const HEARTBEATS_PER_TTL = 3;
/**
 * How long a failover join waits for the recorded home to answer its
 * readiness route (bridgeProbe.ts) before taking its room over. A live
 * bridge answers in milliseconds, and a busy one well within this (a false
 * "dead" would split the room); a dead process's port is refused at once (a
 * proxy in front of it answers 502 at once); only a dead machine (or a
 * partition) runs this out, and every millisecond of it delays the rejoin,
 * which has 5 s in all.
 */
const PROBE_TIMEOUT_MS = 1500;
/** How long a probe's verdict on a bridge serves the failover joins that follow it (a dead bridge's rooms' clients come in a burst). */
const VERDICT_MS = 1000;
/** Bridges seen in the directory this recently may still have pages open on their origin (a page outlives its bridge). */
const SEEN_FOR_MS = 60 * 60 * 1000;
/** Origins remembered at most (the oldest go first): bounded, whoever can write to Redis aside (records are signed). */
const MAX_SEEN = 1000;

/**
 * Appends id, url, load, capacity, signature and region ('' for none) of every live bridge to
 * `out`; ids whose record expired leave the set. `set`: the Lua expression
 * of the bridges set's key, `prefix`: of the bridge key prefix.
 */
const APPEND_LIVE_BRIDGES = (set: string, prefix: string) => `
for _, id in ipairs(redis.call('SMEMBERS', ${set})) do
  local r = redis.call('HMGET', ${prefix} .. id, 'url', 'load', 'capacity', 'sig', 'region')
  if r[1] then
    table.insert(out, id); table.insert(out, r[1]); table.insert(out, r[2]); table.insert(out, r[3]); table.insert(out, r[4] or ''); table.insert(out, r[5] or '')
  else
    redis.call('SREM', ${set}, id)
  end
end`;

/**
 * KEYS[1] room key, KEYS[2] bridges set; ARGV[1] bridge key prefix.
 * Answers the room's recorded home (or '') then the live bridges (APPEND_LIVE_BRIDGES).
 */
const LOOKUP = `
local out = { redis.call('GET', KEYS[1]) or '' }
${APPEND_LIVE_BRIDGES('KEYS[2]', 'ARGV[1]')}
return out`;

/** KEYS[1] bridges set; ARGV[1] bridge key prefix. Answers the live bridges (APPEND_LIVE_BRIDGES), for the heartbeat. */
const LIVE_BRIDGES = `
local out = {}
${APPEND_LIVE_BRIDGES('KEYS[1]', 'ARGV[1]')}
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

/**
 * KEYS[1] room key; ARGV[1] the dead bridge's id, ARGV[2] the bridge the room
 * goes to, ARGV[3] this bridge's id, ARGV[4] TTL ms, ARGV[5] bridge key prefix.
 * A failover join found the room's home dead: if the room still names it (or
 * no live bridge), the room goes to the chosen bridge, this one or, when this
 * one takes no rooms, another (whose load counts it at once, as in CLAIM).
 * Only the room moves: the dead bridge's record stays until it expires (the
 * verdict may be wrong; its other rooms are taken over by their own clients'
 * failover joins). If another live bridge took the room over first, the room
 * stays there. Answers the home's id and url ('' for the url when this
 * bridge's own record is missing, written again by the next heartbeat; both
 * empty when another chosen bridge's record has gone).
 */
const TAKEOVER = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  local url = redis.call('HGET', ARGV[5] .. current, 'url')
  if url then return { current, url } end
end
local url = redis.call('HGET', ARGV[5] .. ARGV[2], 'url')
if ARGV[2] ~= ARGV[3] then
  if not url then return { '', '' } end
  redis.call('HINCRBY', ARGV[5] .. ARGV[2], 'load', 1)
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
return { ARGV[2], url or '' }`;

/**
 * KEYS: room keys of this bridge's rooms; ARGV[1] its id, ARGV[2] TTL ms,
 * ARGV[3] bridge key prefix. Extends its own, takes back expired ones and
 * ones whose holder left the directory, leaves others'. Answers each key
 * another bridge with a record holds, and that bridge's id: its rooms there,
 * whose copies here split them (if its record verifies: see #closeHeldElsewhere).
 */
const REFRESH = `
local elsewhere = {}
for _, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current == ARGV[1] then redis.call('PEXPIRE', key, ARGV[2])
  elseif current and redis.call('EXISTS', ARGV[3] .. current) == 1 then table.insert(elsewhere, key); table.insert(elsewhere, current)
  else redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return elsewhere`;

/** KEYS: room keys; ARGV[1] this bridge's id. Removes those that are its own. */
const RELEASE = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    directoryLookup(roomKey: string, bridgesKey: string, bridgePrefix: string): Result<string[], Context>;
    directoryLiveBridges(bridgesKey: string, bridgePrefix: string): Result<string[], Context>;
    directoryTakeover(roomKey: string, deadId: string, chosenId: string, id: string, ttlMs: number, bridgePrefix: string): Result<[string, string], Context>;
    directoryClaim(roomKey: string, id: string, ttlMs: number, bridgePrefix: string): Result<[string, string], Context>;
    directoryRefresh(...args: (string | number)[]): Result<string[], Context>;
    directoryRelease(...args: (string | number)[]): Result<number, Context>;
  }
}

export interface BridgeDirectoryOptions {
  redisUrl: string;
  /** This bridge: its id, the URL clients of other bridges are sent to, the peers it takes. */
  self: { id: string; url: string; capacity: number; region: string | undefined };
  heartbeatMs: number;
  /** What this bridge hosts now: its rooms' names and its peers, and whether it is draining (it takes no new rooms). */
  hosted: () => { rooms: string[]; load: number; draining: boolean };
  /**
   * Rooms of this bridge that another live bridge holds in the directory (it
   * took them over from a verdict of "dead" that was wrong, or during a Redis
   * outage both made them): they are closed here, saying the bridge shuts
   * down, so their clients rejoin through their fallbacks and meet on the
   * room's home. Answers the rooms it closed (a room whose guests wait for
   * their host has nothing to close).
   */
  heldElsewhere: (rooms: string[]) => string[];
  /**
   * The secret every bridge of the deployment shares (API_SECRET): each signs
   * its record's id and URL with it, and a record that does not verify is not
   * followed, so whoever can write to Redis cannot send clients (and forwarded
   * REST, credentials included) to an address of their choosing.
   */
  recordSecret: string;
  logger: Logger;
}

/** What a round trip to Redis is for: a join's (lookup, claim, takeover), or keeping the records (publish, release). */
type DirectoryCall = 'lookup' | 'claim' | 'takeover' | 'publish' | 'release';

/** Where a room's joins go. */
export type RoomHome = { kind: 'here' } | { kind: 'elsewhere'; bridge: BridgeRecord } | { kind: 'full' };

export class BridgeDirectory {
  readonly #options: BridgeDirectoryOptions;
  /** Its calls fail at once while Redis is away: joins do not wait for it. */
  readonly #connection: DirectoryRedis;
  readonly #redis: Redis;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #ttlMs: number;
  #stopped = false;
  readonly #signature: string;
  /** Bridges whose records did not verify, each warned of once. */
  readonly #unverified = new Set<string>();
  /** Bridges found dead by a failover join, each warned of once (until found answering again). */
  readonly #dead = new Set<string>();
  /** Failover joins' probes of recorded homes: one per bridge at a time, its verdict shared a moment. */
  readonly #verdicts = new BridgeVerdicts((bridge) => bridgeAnswers(bridge, PROBE_TIMEOUT_MS), { cacheMs: VERDICT_MS, max: 100 });
  /** The live bridges whose records verified, this one included, as of the last heartbeat or lookup. */
  #live: BridgeRecord[] = [];
  /** Origins of bridges whose records verified, with when they were last seen, oldest first. */
  readonly #seen = new Map<string, number>();
  /** Redis round trips made so far, by what they were for (each script call or batch is one; the heartbeat's read of the live bridges rides in its batch). */
  readonly roundTrips: Record<DirectoryCall, number> = { lookup: 0, claim: 0, takeover: 0, publish: 0, release: 0 };

  private constructor(options: BridgeDirectoryOptions) {
    this.#options = options;
    this.#ttlMs = options.heartbeatMs * HEARTBEATS_PER_TTL;
    this.#signature = recordSignature(options.recordSecret, options.self.id, options.self.url, options.self.region);
    this.#connection = new DirectoryRedis(options.redisUrl, options.logger, {
      down: 'the room directory (Redis) does not answer: new rooms stay on this bridge until it does',
      back: 'the room directory (Redis) answers again',
    });
    this.#redis = this.#connection.redis;
    this.#redis.defineCommand('directoryLookup', { numberOfKeys: 2, lua: LOOKUP });
    this.#redis.defineCommand('directoryLiveBridges', { numberOfKeys: 1, lua: LIVE_BRIDGES });
    this.#redis.defineCommand('directoryTakeover', { numberOfKeys: 1, lua: TAKEOVER });
    this.#redis.defineCommand('directoryClaim', { numberOfKeys: 1, lua: CLAIM });
    this.#redis.defineCommand('directoryRefresh', { lua: REFRESH });
    this.#redis.defineCommand('directoryRelease', { lua: RELEASE });
    this.#heartbeat = setInterval(() => void this.publish(), options.heartbeatMs);
  }

  /** Connects and publishes this bridge; if Redis cannot be reached yet, the bridge starts anyway and the heartbeat keeps trying. */
  static async start(options: BridgeDirectoryOptions): Promise<BridgeDirectory> {
    const directory = new BridgeDirectory(options);
    await directory.#connection.connected();
    await directory.publish();
    return directory;
  }

  get id(): string {
    return this.#options.self.id;
  }

  /** This bridge's region (BRIDGE_REGION), if it has one. */
  get region(): string | undefined {
    return this.#options.self.region;
  }

  /** The live bridge of that id other than this one, as its verified record said at the last heartbeat or lookup. */
  liveBridge(id: string): BridgeRecord | undefined {
    return id === this.id ? undefined : this.#live.find((bridge) => bridge.id === id);
  }

  /**
   * Where a join for `room` goes: its recorded home if that bridge is live,
   * else the least-loaded live bridge, recorded as its home. Without Redis:
   * here. `bridgeLost`: the join comes from a client that lost the room's
   * bridge; a recorded home that does not answer is taken over (#takeOver).
   * A recorded home at this bridge's own URL under another id is a dead
   * predecessor (this bridge restarted with a new id): taken over at once.
   */
  async homeOf(room: string, { bridgeLost = false } = {}): Promise<RoomHome> {
    const found = await this.#lookup(room);
    if (!found) return { kind: 'here' };
    const { home, bridges } = found;
    if (home?.id === this.id) return { kind: 'here' };
    if (home?.url === this.#options.self.url) return this.#takeOver(room, home, bridges);
    if (home) return bridgeLost && !(await this.#answers(home)) ? this.#takeOver(room, home, bridges) : { kind: 'elsewhere', bridge: home };
    const choice = chooseBridge(bridges, this.id);
    if (!choice) return this.#nowhere();
    const winner = await this.#call('claim', () =>
      this.#redis.directoryClaim(directoryKeys.room(room), choice.id, this.#ttlMs, directoryKeys.bridge('')),
    );
    // No answer (Redis away), or the chosen bridge left between the lookup and the claim: here.
    return this.#homeFrom(winner, bridges);
  }

  /**
   * The other live bridges (public URLs) in the order `room`'s clients try
   * them when they lose its bridge (rendezvous order), without draining ones,
   * as of the last heartbeat. Empty without Redis.
   */
  fallbacks(room: string): string[] {
    const others = this.#live.filter((bridge) => bridge.id !== this.id && bridge.capacity > 0);
    return rendezvousOrder(room, others)
      .slice(0, MAX_BRIDGE_FALLBACKS)
      .map((bridge) => bridge.url);
  }

  /** The other live bridges' signaling origins (ws: or wss:), as of the last heartbeat: where this bridge's pages may have to rejoin. */
  webSocketOrigins(): string[] {
    return this.#live.filter((bridge) => bridge.id !== this.id).map((bridge) => {
      const url = new URL(bridge.url);
      return `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}`;
    });
  }

  /** Whether `origin` is a bridge of this deployment's, seen in the directory within the last hour (its pages may rejoin here after it died). */
  isBridgeOrigin(origin: string): boolean {
    const seenAt = this.#seen.get(origin);
    return seenAt !== undefined && Date.now() - seenAt < SEEN_FOR_MS;
  }

  /** The live bridge other than this one (nor a dead predecessor at its URL) that hosts `room`, if the directory says so (REST is forwarded there). */
  async elsewhere(room: string): Promise<{ id: string; url: string } | undefined> {
    const home = (await this.#lookup(room))?.home;
    return home && home.id !== this.id && home.url !== this.#options.self.url ? home : undefined;
  }

  /** Says this bridge is live, with its load now, and that its rooms are still its own. Called by the heartbeat, and at once when a room opens. */
  async publish(): Promise<void> {
    if (this.#stopped) return;
    const { rooms, load, capacity } = this.#current();
    const { self } = this.#options;
    const replies = await this.#call('publish', () => {
      const batch = this.#redis
        .multi()
        .hset(directoryKeys.bridge(self.id), { url: self.url, load, capacity, sig: this.#signature, ...(self.region !== undefined && { region: self.region }) })
        .pexpire(directoryKeys.bridge(self.id), this.#ttlMs)
        .sadd(directoryKeys.bridges, self.id);
      if (rooms.length > 0) batch.directoryRefresh(rooms.length, ...rooms.map(directoryKeys.room), self.id, this.#ttlMs, directoryKeys.bridge(''));
      return batch.directoryLiveBridges(directoryKeys.bridges, directoryKeys.bridge('')).exec();
    });
    const [error, live] = replies?.at(-1) ?? [];
    if (!error && Array.isArray(live)) this.#noteLive(this.#verified(live as string[]));
    const [refreshError, heldBy] = (rooms.length > 0 ? replies?.at(-2) : undefined) ?? [];
    if (!refreshError && Array.isArray(heldBy)) this.#closeHeldElsewhere(rooms, heldBy as string[]);
  }

  /**
   * The rooms of `rooms` whose keys another live bridge (its record verified)
   * held at the refresh are closed here (heldElsewhere). A room just taken over here is not among
   * them: REFRESH compares the key's id with this bridge's in one step, so a
   * takeover that ran before it left this bridge's id; one that ran after it
   * is answered after it on the same connection, and its room is made only
   * then, after this has run.
   */
  #closeHeldElsewhere(rooms: string[], heldBy: string[]): void {
    // Only a holder whose record verified counts: whoever can write to Redis must not close rooms here.
    const held = new Set<string>();
    for (let i = 0; i + 1 < heldBy.length; i += 2) {
      if (this.#live.some((bridge) => bridge.id === heldBy[i + 1])) held.add(heldBy[i]!);
    }
    const closing = rooms.filter((room) => held.has(directoryKeys.room(room)));
    const closed = closing.length > 0 ? this.#options.heldElsewhere(closing) : [];
    if (closed.length > 0) this.#options.logger.warn({ rooms: closed }, 'another bridge holds these rooms in the directory (a failover took them over): closed them here, so their clients rejoin there');
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

  /** The room's recorded home (if its record is live and verifies), and the live bridges, this one first as it is now. */
  async #lookup(room: string): Promise<{ home: BridgeRecord | undefined; bridges: [BridgeRecord, ...BridgeRecord[]] } | undefined> {
    const reply = await this.#call('lookup', () => this.#redis.directoryLookup(directoryKeys.room(room), directoryKeys.bridges, directoryKeys.bridge('')));
    if (!reply) return undefined;
    const [homeId, ...fields] = reply;
    const bridges = this.#verified(fields);
    this.#noteLive(bridges);
    // Our own load and capacity as they are now, not as last published.
    const { self } = this.#options;
    const { load, capacity } = this.#current();
    const here = { ...self, load, capacity };
    // A record at this bridge's own URL under another id is a dead predecessor's: no other bridge, but maybe the room's home still.
    const others = bridges.filter((bridge) => bridge.id !== self.id && bridge.url !== self.url);
    return { home: homeId === self.id ? here : bridges.find((bridge) => bridge.id === homeId), bridges: [here, ...others] };
  }

  /** Whether a recorded home answers as itself (one probe per bridge at a time, its verdict shared a moment); a bridge answering again may be warned of again. */
  async #answers(home: BridgeRecord): Promise<boolean> {
    const alive = await this.#verdicts.alive(home);
    if (alive) this.#dead.delete(home.id);
    return alive;
  }

  /**
   * The recorded home a failover join found dead: the room is taken over
   * (TAKEOVER) by this bridge, or by the least-loaded other live one when this
   * one takes no rooms (draining or full), or left where another bridge took
   * it first. The risk: bridges cut off from each other but not from their
   * clients and Redis would each find the other dead, and a room whose
   * clients reached both would be split in two until the one not holding it
   * in the directory refreshes its records (heldElsewhere).
   */
  async #takeOver(room: string, dead: BridgeRecord, [here, ...rest]: [BridgeRecord, ...BridgeRecord[]]): Promise<RoomHome> {
    if (!this.#dead.has(dead.id) && this.#dead.size < 100) {
      this.#dead.add(dead.id);
      this.#options.logger.warn({ bridge: dead.id, url: dead.url }, 'a bridge does not answer as itself: its rooms are taken over by the bridges their clients rejoin');
    }
    const others = rest.filter((bridge) => bridge.id !== dead.id);
    const target = takeoverTarget(here, others);
    if (!target) return this.#nowhere();
    const home = await this.#call('takeover', () =>
      this.#redis.directoryTakeover(directoryKeys.room(room), dead.id, target.id, this.id, this.#ttlMs, directoryKeys.bridge('')),
    );
    // Gone from the fallbacks and the pages' connect-src at once, until a heartbeat lists it again (its record is left to expire).
    this.#live = this.#live.filter((bridge) => bridge.id !== dead.id);
    // No answer (Redis away): the client is here, and the room is made here.
    return this.#homeFrom(home, [here, ...others]);
  }

  /** Where a join goes when no live bridge takes rooms: a draining bridge keeps it, and refuses it saying it is shutting down (RoomRegistry). */
  #nowhere(): RoomHome {
    return this.#options.hosted().draining ? { kind: 'here' } : { kind: 'full' };
  }

  /** A room's home as a claim or takeover answered it: another bridge is followed only if its record verified in the lookup. */
  #homeFrom(answer: [string, string] | undefined, bridges: BridgeRecord[]): RoomHome {
    if (!answer?.[0]) return { kind: 'here' };
    const [id, url] = answer;
    if (id === this.id) return { kind: 'here' };
    const bridge = bridges.find((b) => b.id === id && b.url === url);
    if (bridge) return { kind: 'elsewhere', bridge };
    this.#warnUnverified(id);
    return { kind: 'here' };
  }

  /** The records among `fields` (id, url, load, capacity, signature, region each) that verify; the others are warned of. */
  #verified(fields: string[]): BridgeRecord[] {
    const bridges: BridgeRecord[] = [];
    for (let i = 0; i + RECORD_FIELDS - 1 < fields.length; i += RECORD_FIELDS) {
      const [id, url, load, capacity, signature, given] = fields.slice(i, i + RECORD_FIELDS) as [string, string, string, string, string, string];
      const region = given === '' ? undefined : given;
      if (this.#verifies(id, url, region, signature)) bridges.push({ id, url, load: Number(load), capacity: Number(capacity), ...(region !== undefined && { region }) });
      else this.#warnUnverified(id);
    }
    return bridges;
  }

  /**
   * The live bridges as Redis listed them just now: kept for fallbacks and
   * connect-src (but a dead predecessor's record at this bridge's own URL),
   * their origins remembered.
   */
  #noteLive(bridges: BridgeRecord[]): void {
    const { self } = this.#options;
    this.#live = bridges.filter((bridge) => bridge.id === self.id || bridge.url !== self.url);
    const now = Date.now();
    for (const bridge of bridges) {
      const origin = new URL(bridge.url).origin;
      this.#seen.delete(origin); // re-inserted last: the map stays oldest first
      this.#seen.set(origin, now);
      if (this.#seen.size > MAX_SEEN) this.#seen.delete(this.#seen.keys().next().value!);
    }
  }

  #verifies(id: string, url: string, region: string | undefined, signature: string): boolean {
    const expected = Buffer.from(recordSignature(this.#options.recordSecret, id, url, region));
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
    return this.#connection.call(call, { what });
  }
}
