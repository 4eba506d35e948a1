// Dial-in PINs across the bridges of a deployment: bridge/main.ts on two test
// hosts sharing one real redis-server (test/helpers/bridgeFleet.ts). Every
// room's PIN is claimed in Redis, so no two rooms of the deployment share
// one; either bridge answers the gateway's PIN lookup for a room on the
// other (by name: the directory sends the caller's join there); a PIN is
// given back when its room closes, a bridge's all when it stops; with Redis
// away rooms still open at once, and their PINs are claimed when it is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialInPinKey } from '../../bridge/directory/DialInPins.ts';
import { serviceAuthorization } from '../../protocol/serviceAuth.ts';
import { TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.23';
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];
/** The bridges' heartbeat (the shipped default): claims live three of them. */
const HEARTBEAT_MS = 2000;
const ROOMS = Array.from({ length: 8 }, (_, i) => `pinned-${i}`);

describe('dial-in PINs: two bridges sharing one Redis', () => {
  let fleet: BridgeFleet<BridgeName>;
  /** Each room's bridge and PIN, as its bridge's REST says. */
  const rooms = new Map<string, { on: BridgeName; pin: string }>();

  /** The gateway's PIN lookup (GET /api/dial-in/:pin with the service secret), asked of `bridge`. */
  async function lookUp(bridge: BridgeName, pin: string): Promise<{ status: number; room?: string }> {
    const response = await fetch(`${fleet.httpUrl(bridge)}/api/dial-in/${pin}`, { headers: serviceAuthorization(TEST_SERVICE_SECRET) });
    return { status: response.status, ...(response.ok ? ((await response.json()) as { room: string }) : {}) };
  }

  async function pinOf(bridge: BridgeName, room: string): Promise<string> {
    const response = await operatorFetch(`${fleet.httpUrl(bridge)}/api/rooms/${room}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { dialIn: { pin: string } }).dialIn.pin;
  }

  /** A PIN of the shipped length no room holds. */
  function unusedPin(): string {
    const held = new Set([...rooms.values()].map(({ pin }) => pin));
    for (let pin = 100_000; ; pin++) if (!held.has(String(pin))) return String(pin);
  }

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'pins', subnet: SUBNET, names: BRIDGES });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('gives every room of the deployment its own PIN, claimed in Redis for that room and kept by the heartbeat', async () => {
    for (const room of ROOMS) {
      const { landedOn } = await fleet.join('a', room, `Opener of ${room}`);
      rooms.set(room, { on: landedOn, pin: await pinOf(landedOn, room) });
    }
    const on = [...rooms.values()].map((room) => room.on);
    expect(on).toContain('a');
    expect(on).toContain('b'); // placed by load: both bridges hold rooms
    expect(new Set([...rooms.values()].map(({ pin }) => pin)).size).toBe(ROOMS.length);
    for (const [room, { pin }] of rooms) {
      expect(await fleet.redis.get(dialInPinKey(pin))).toBe(room);
      const ttl = await fleet.redis.pttl(dialInPinKey(pin));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    }
    // Each bridge's heartbeat extends its own claims: each expires a heartbeat or so later than it did.
    const expiresAt = async (pin: string) => Date.now() + (await fleet.redis.pttl(dialInPinKey(pin)));
    const before = new Map<string, number>();
    for (const { pin } of rooms.values()) before.set(pin, await expiresAt(pin));
    await waitFor('every claim to be refreshed', async () => {
      for (const [pin, expiry] of before) if ((await expiresAt(pin)) < expiry + HEARTBEAT_MS / 2) return false;
      return true;
    }, 3 * HEARTBEAT_MS, 100);
    for (const [room, { pin }] of rooms) expect(await fleet.redis.get(dialInPinKey(pin))).toBe(room);
  }, 60_000);

  it('answers the PIN of a room on the other bridge with its name (the caller\'s join follows the directory there), and its own rooms as before', async () => {
    for (const [room, { on, pin }] of rooms) {
      const other = on === 'a' ? 'b' : 'a';
      expect(await lookUp(other, pin)).toEqual({ status: 200, room });
      expect(await lookUp(on, pin)).toEqual({ status: 200, room });
    }
    // The lookup is the gateway's (service secret) or the operator's: without either, still refused.
    const [, { pin }] = [...rooms][0]!;
    expect((await fetch(`${fleet.httpUrl('b')}/api/dial-in/${pin}`)).status).toBe(401);
  });

  it('says an unknown PIN opens no room, on either bridge', async () => {
    const pin = unusedPin();
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 404 });
  });

  it('gives a PIN back when its room closes: no bridge leads a caller there any more', async () => {
    const [room, { on, pin }] = [...rooms].find(([, { on }]) => on === 'a')!;
    expect((await operatorFetch(`${fleet.httpUrl(on)}/api/rooms/${room}`, { method: 'DELETE' })).status).toBe(204);
    rooms.delete(room);
    await waitFor('the closed room\'s PIN to leave Redis', async () => (await fleet.redis.exists(dialInPinKey(pin))) === 0, 5_000, 50);
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 404 });
  });

  it('with Redis away a room still opens at once, with a PIN; back, the heartbeat claims it', async () => {
    await fleet.redisServer.stop();
    const asked = Date.now();
    const { landedOn } = await fleet.join('a', 'while-redis-away', 'Dave');
    console.log(`with Redis away, a room opened in ${Date.now() - asked} ms`);
    expect(Date.now() - asked).toBeLessThan(5_000);
    expect(landedOn).toBe('a');
    const pin = await pinOf('a', 'while-redis-away');
    expect(await lookUp('a', pin)).toEqual({ status: 200, room: 'while-redis-away' });
    rooms.set('while-redis-away', { on: 'a', pin });

    await fleet.startRedis(); // empty: every claim must be made again
    await waitFor('every live room\'s PIN claimed again', async () => {
      for (const [room, { pin }] of rooms) if ((await fleet.redis.get(dialInPinKey(pin))) !== room) return false;
      return true;
    }, 4 * HEARTBEAT_MS, 200);
    expect(await lookUp('b', pin)).toEqual({ status: 200, room: 'while-redis-away' });
  }, 30_000);

  it('a bridge stopped cleanly gives back all its PINs at once', async () => {
    const itsPins = [...rooms.values()].filter(({ on }) => on === 'b').map(({ pin }) => pin);
    expect(itsPins.length).toBeGreaterThan(0);
    await fleet.bridges.b.stop();
    for (const pin of itsPins) expect(await fleet.redis.exists(dialInPinKey(pin))).toBe(0);
    // The other bridge's stay.
    for (const { on, pin } of rooms.values()) if (on === 'a') expect(await fleet.redis.exists(dialInPinKey(pin))).toBe(1);
  }, 30_000);
});
