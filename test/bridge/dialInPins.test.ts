// Dial-in PINs across the bridges of a deployment: bridge/main.ts on two test
// hosts sharing one real redis-server (test/helpers/bridgeFleet.ts). Every
// room's PIN is claimed in Redis, so no two rooms of the deployment share
// one; either bridge answers the gateway's PIN lookup for a room on the
// other (by name: the directory sends the caller's join there); a PIN is
// given back when its room closes, a bridge's all when it stops; with Redis
// away rooms still open at once, and their PINs are claimed when it is back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialInPinKey } from '../../bridge/directory/DialInPins.ts';
import { serviceAuthorization } from '../../protocol/serviceAuth.ts';
import { writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { composeEnvironment } from '../helpers/compose.ts';
import { shareOf } from '../helpers/hearing.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.23';
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];
/** The bridges' heartbeat (the shipped default): claims live three of them. */
const HEARTBEAT_MS = 2000;
const ROOMS = Array.from({ length: 8 }, (_, i) => `pinned-${i}`);
/** The phone call's two parties, each by its tone. */
const TONES = { pinCaller: 440, roomCaller: 880 } as const;

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

  it('says an unknown PIN opens no room, on either bridge, nor one whose key holds no room name', async () => {
    const pin = unusedPin();
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 404 });
    await fleet.redis.set(dialInPinKey(pin), '../not a room', 'PX', 10_000);
    for (const bridge of BRIDGES) expect(await lookUp(bridge, pin)).toEqual({ status: 404 });
    await fleet.redis.del(dialInPinKey(pin));
  });

  it('lets a caller of a gateway whose bridge is B into a room on A with its PIN: the caller and another in the room hear each other', async () => {
    const [room, { pin }] = [...rooms].find(([, { on }]) => on === 'a')!;
    const gatewayHost = await fleet.network.addHost('gateway', 10);
    const clients = await fleet.network.addHost('clients', 11);
    const gatewayEnv = composeEnvironment('gateway', {
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      // The test network's addresses are not among the private ranges allowed by default.
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
    });
    // No drachtio-server can run here: without DRACHTIO_HOST the gateway runs its embedded engine.
    for (const name of ['DRACHTIO_HOST', 'DRACHTIO_PORT', 'DRACHTIO_SECRET']) delete gatewayEnv[name];
    gateway = ServiceProcess.start(gatewayHost, 'gateway', process.execPath, ['gateway/main.ts'], { ...gatewayEnv, BRIDGE_URL: fleet.httpUrl('b') });
    await gateway.waitForLog('SIP gateway ready');
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
