// Dial-in PINs across the bridges of a deployment: bridge/main.ts on two test
// hosts sharing one real redis-server (test/helpers/bridgeFleet.ts). Every
// room's PIN is claimed in Redis, signed with API_SECRET, so no two rooms of
// the deployment share one and a claim written by anyone else opens nothing;
// either bridge answers the gateway's PIN lookup for a room on the
// other (by name: the directory sends the caller's join there); a PIN is
// given back when its room closes, a bridge's all when it stops; with Redis
// away rooms still open at once, and their PINs are claimed when it is back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIAL_IN_PIN_WARNINGS, dialInPinKey, dialInPinValue } from '../../bridge/directory/DialInPins.ts';
import { serviceAuthorization } from '../../protocol/serviceAuth.ts';
import { writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { TEST_API, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { shareOf } from '../helpers/hearing.ts';
import { operatorFetch } from '../helpers/rest.ts';
import type { ServiceProcess } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.25';
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];
/** The bridges' heartbeat (the shipped default): claims live three of them. */
const HEARTBEAT_MS = 2000;
const ROOMS = Array.from({ length: 8 }, (_, i) => `pinned-${i}`);
/** The phone call's two parties, each by its tone. */
const TONES = { pinCaller: 440, roomCaller: 880 } as const;
/**
 * The shipped PIN length (ROOM_PIN_DIGITS is at least 6): the first test
 * fills Redis with claims of every such PIN but FREE_PINS, so a bridge that
 * did not ask Redis would draw a taken one (999 times in 1000).
 */
const PIN_RANGE = { min: 100_000, max: 1_000_000 };
const isFree = (pin: number): boolean => pin % 1000 === 7;
const FREE_PINS = Array.from({ length: (PIN_RANGE.max - PIN_RANGE.min) / 1000 }, (_, i) => String(PIN_RANGE.min + 7 + 1000 * i));
/** KEYS[1] PIN key prefix; ARGV[1], ARGV[2] first and last PIN; ARGV[3] 'set' or 'del'. The other rooms' claims of every PIN in the range but the free ones (isFree), made or taken away. */
const FILL = `
for pin = tonumber(ARGV[1]), tonumber(ARGV[2]) do
  if pin % 1000 ~= 7 then
    local key = KEYS[1] .. string.format('%d', pin)
    if ARGV[3] == 'set' then redis.call('SET', key, 'taken') else redis.call('DEL', key) end
  end
end
return 0`;

describe('dial-in PINs: two bridges sharing one Redis', () => {
  let fleet: BridgeFleet<BridgeName>;
  let gateway: ServiceProcess | undefined;
  const phones: Baresip[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dial-in-pins-'));
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

  /** Every PIN but FREE_PINS claimed by other rooms ('set'), or no longer ('del'): in slices, so the bridges' heartbeats are not held up long. */
  async function fillTakenPins(action: 'set' | 'del'): Promise<void> {
    for (let first = PIN_RANGE.min; first < PIN_RANGE.max; first += 50_000) {
      await fleet.redis.eval(FILL, 1, dialInPinKey(''), first, first + 49_999, action);
    }
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
    for (const phone of phones) await phone.stop().catch(() => {});
    await gateway?.stop();
    await fleet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives every room of the deployment its own PIN, skipping those other rooms hold, claimed in Redis for that room (signed) and kept by the heartbeat', async () => {
    await fillTakenPins('set');
    for (const room of ROOMS) {
      const { landedOn } = await fleet.join('a', room, `Opener of ${room}`);
      rooms.set(room, { on: landedOn, pin: await pinOf(landedOn, room) });
    }
    const on = [...rooms.values()].map((room) => room.on);
    expect(on).toContain('a');
    expect(on).toContain('b'); // placed by load: both bridges hold rooms
    const pins = [...rooms.values()].map(({ pin }) => pin);
    console.log(`PINs drawn among ${FREE_PINS.length} free: ${pins.join(' ')}`);
    // Every PIN another room held was skipped (a bridge not asking Redis would have drawn 8 of them, all but once in 10^24), and no two rooms share one.
    for (const pin of pins) expect(isFree(Number(pin)), `PIN ${pin} is free`).toBe(true);
    expect(new Set(pins).size).toBe(ROOMS.length);
    await fillTakenPins('del');
    for (const [room, { pin }] of rooms) {
      expect(await fleet.redis.get(dialInPinKey(pin))).toBe(dialInPinValue(TEST_API.secret, pin, room));
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
    for (const [room, { pin }] of rooms) expect(await fleet.redis.get(dialInPinKey(pin))).toBe(dialInPinValue(TEST_API.secret, pin, room));
  }, 90_000);

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

  it('says an unknown PIN opens no room, on either bridge, nor one whose claim does not verify (warning once)', async () => {
    const pin = unusedPin();
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 404 });
    const [room, { pin: itsPin }] = [...rooms][0]!;
    const forged = [
      '../not a room',
      room, // a bare room name (unsigned)
      dialInPinValue('another deployment\'s secret 0123456789-0123456789', pin, room),
      dialInPinValue(TEST_API.secret, itsPin, room), // a real claim, copied to another PIN's key
    ];
    for (const value of forged) {
      await fleet.redis.set(dialInPinKey(pin), value, 'PX', 10_000);
      for (const bridge of BRIDGES) expect(await lookUp(bridge, pin), value).toEqual({ status: 404 });
    }
    for (const bridge of BRIDGES) await fleet.bridges[bridge].waitForLog(DIAL_IN_PIN_WARNINGS.unverified, 1000);
    // The same claim signed with the deployment's secret opens its room.
    await fleet.redis.set(dialInPinKey(pin), dialInPinValue(TEST_API.secret, pin, room), 'PX', 10_000);
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 200, room });
    await fleet.redis.del(dialInPinKey(pin));
  });

  it('warns when the heartbeat finds a room\'s PIN held by another room too (claimed while Redis was away)', async () => {
    const [room, { on, pin }] = [...rooms].find(([, { on }]) => on === 'b')!;
    await fleet.redis.set(dialInPinKey(pin), dialInPinValue(TEST_API.secret, pin, 'someone-else'), 'PX', 10_000);
    await fleet.bridges[on].waitForLog(DIAL_IN_PIN_WARNINGS.heldElsewhere, 2 * HEARTBEAT_MS);
    // Left as it is (the heartbeat does not take another's claim), and Redis's room is what the other bridge answers.
    expect(await lookUp('a', pin)).toEqual({ status: 200, room: 'someone-else' });
    await fleet.redis.set(dialInPinKey(pin), dialInPinValue(TEST_API.secret, pin, room), 'PX', 3 * HEARTBEAT_MS);
  });

  it('lets a caller of a gateway whose bridge is B into a room on A with its PIN: the caller and another in the room hear each other', async () => {
    const [room, { pin }] = [...rooms].find(([, { on }]) => on === 'a')!;
    const clients = await fleet.network.addHost('clients', 11);
    const started = await fleet.startGateway('b', 10);
    gateway = started.gateway;
    const gatewayHost = started.host;
    const startPhone = async (party: keyof typeof TONES) => {
      writeToneWav(path.join(dir, `${party}.wav`), TONES[party], 120, { sampleRate: 8000 });
      const phone = await Baresip.start({ microphone: path.join(dir, `${party}.wav`), host: clients });
      phones.push(phone);
      return phone;
    };
    const hears = (phone: Baresip) => {
      const { samples, sampleRate } = phone.recentAudio(1);
      return shareOf(samples, sampleRate, TONES);
    };
    const pinCaller = await startPhone('pinCaller');
    const roomCaller = await startPhone('roomCaller');
    // A number: the gateway's IVR asks for the PIN, and asks bridge B for its room.
    pinCaller.dial(`sip:15550100@${gatewayHost.address}:5060`);
    await pinCaller.waitForEvent('CALL_ESTABLISHED');
    await pinCaller.sendDigits(`${pin}#`);
    // The room by name: a participant already there when the PIN caller arrives, or just after.
    roomCaller.dial(`sip:${room}@${gatewayHost.address}:5060`);
    await roomCaller.waitForEvent('CALL_ESTABLISHED');
    await waitFor('both callers in the room on bridge A', async () => {
      const response = await operatorFetch(`${fleet.httpUrl('a')}/api/rooms/${room}`);
      if (!response.ok) return false;
      const { participants } = (await response.json()) as { participants: { kind: string }[] };
      return participants.filter((participant) => participant.kind === 'phone').length === 2;
    }, 30_000, 200);
    await waitFor('each caller to hear the other, and not itself', () => {
      const pinCallerHears = hears(pinCaller);
      const roomCallerHears = hears(roomCaller);
      return pinCallerHears.roomCaller > 0.3 && pinCallerHears.pinCaller < 0.02 && roomCallerHears.pinCaller > 0.3 && roomCallerHears.roomCaller < 0.02;
    }, 20_000, 200);
    for (const phone of [pinCaller, roomCaller]) phone.hangup();
    for (const phone of [pinCaller, roomCaller]) await phone.waitForEvent('CALL_CLOSED');
  }, 90_000);

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
      for (const [room, { pin }] of rooms) if ((await fleet.redis.get(dialInPinKey(pin))) !== dialInPinValue(TEST_API.secret, pin, room)) return false;
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
