// The room directory across three bridges: bridge/main.ts with compose's
// environment on three test hosts, sharing one real redis-server on a fourth
// (REDIS_URL; each bridge's id named, the rest shipped defaults). Rooms opened
// through one bridge are spread by load; a client that reaches the wrong
// bridge is sent to the room's (SignalingClient follows on its own); REST on
// any bridge acts on the room where it lives; with Redis away each bridge
// goes on serving its rooms, and the directory is rebuilt when it is back; a
// bridge that stops leaves the directory at once, one that is killed within
// its TTL; and a bridge stops even when Redis is gone for good.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryKeys, recordSignature } from '../../bridge/directory/BridgeDirectory.ts';
import { FORWARDED_HEADER } from '../../bridge/http/roomForwarding.ts';
import { TEST_API } from '../helpers/bridge.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { joinThroughUi, launchBrowser, openJoinForm } from '../helpers/browser.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { startTcpProxy } from '../helpers/tcpProxy.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.17';
const BRIDGES = ['a', 'b', 'c'] as const;
type BridgeName = (typeof BRIDGES)[number];
/** The bridges' heartbeat (the shipped default): records live three of them. */
const HEARTBEAT_MS = 2000;

describe('room directory: three bridges sharing one Redis', () => {
  let fleet: BridgeFleet<BridgeName>;
  const httpUrl = (name: BridgeName) => fleet.httpUrl(name);
  const homeOf = (room: string) => fleet.homeOf(room);
  const join = (through: BridgeName, room: string, name: string) => fleet.join(through, room, name);

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'dir', subnet: SUBNET, names: BRIDGES });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('publishes each bridge with its public URL, load and capacity, under a TTL', async () => {
    expect(await fleet.redis.smembers(directoryKeys.bridges)).toEqual(expect.arrayContaining([...BRIDGES]));
    for (const name of BRIDGES) {
      // Signed with the deployment's secret: a record that does not verify is not followed.
      expect(await fleet.redis.hgetall(directoryKeys.bridge(name))).toEqual({ url: httpUrl(name), load: '0', capacity: '1000', sig: recordSignature(TEST_API.secret, name, httpUrl(name)) });
      const ttl = await fleet.redis.pttl(directoryKeys.bridge(name));
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(3 * HEARTBEAT_MS);
    }
  });

  it('places 30 rooms opened through bridge A by load: every bridge holds some, none more than half; each join landed on its room\'s home', async () => {
    const landed: Record<BridgeName, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 30; i++) {
      const room = `placed-${i}`;
      const { landedOn, joined } = await join('a', room, `Opener ${i}`);
      expect(joined.room).toBe(room);
      expect(await homeOf(room)).toBe(landedOn);
      landed[landedOn]++;
    }
    console.log('30 rooms opened through bridge A landed on', landed);
    for (const name of BRIDGES) {
      expect(landed[name]).toBeGreaterThan(0);
      expect(landed[name]).toBeLessThanOrEqual(15);
    }
    // Each bridge's REST lists exactly the rooms the directory gives it.
    for (const name of BRIDGES) {
      const { rooms } = (await (await operatorFetch(`${httpUrl(name)}/api/rooms`)).json()) as { rooms: { name: string }[] };
      const homed = [];
      for (let i = 0; i < 30; i++) if ((await homeOf(`placed-${i}`)) === name) homed.push(`placed-${i}`);
      expect(rooms.map((room) => room.name).sort()).toEqual(homed.sort());
    }
    // Published loads catch up with the peers each bridge holds.
    await waitFor('each bridge to publish its load', async () => {
      const loads = await Promise.all(BRIDGES.map((name) => fleet.redis.hget(directoryKeys.bridge(name), 'load')));
      return BRIDGES.every((name, index) => Number(loads[index]) === landed[name]);
    }, 3 * HEARTBEAT_MS, 100);
  }, 60_000);

  it('sends a client that reached the wrong bridge to the room\'s home; one coming through the third bridge meets it there', async () => {
    const opener = await join('a', 'meet', 'Opener');
    const home = opener.landedOn;
    const [wrong, third] = BRIDGES.filter((name) => name !== home) as [BridgeName, BridgeName];
    const alice = await join(wrong, 'meet', 'Alice');
    expect(alice.landedOn).toBe(home);
    const bob = await join(third, 'meet', 'Bob');
    expect(bob.landedOn).toBe(home);
    expect(bob.joined.peers.map((peer) => peer.displayName).sort()).toEqual(['Alice', 'Opener']);
    await waitFor('Alice to see Bob arrive', () => alice.notificationsOf('peerJoined').some(({ peer }) => peer.displayName === 'Bob'), 5_000);
    // The room is one: the bridges Alice and Bob reached first host no room of that name.
    for (const name of [wrong, third]) expect((await operatorFetch(`${httpUrl(name)}/api/rooms/meet`, { headers: { [FORWARDED_HEADER]: 'test' } })).status).toBe(404);

    // REST on a bridge that does not host the room acts on it where it lives.
    const listed = await operatorFetch(`${httpUrl(wrong)}/api/rooms/meet`);
    expect(listed.status).toBe(200);
    const described = (await listed.json()) as { participants: { displayName: string }[] };
    expect(described.participants.map((peer) => peer.displayName).sort()).toEqual(['Alice', 'Bob', 'Opener']);
    const removed = await operatorFetch(`${httpUrl(third)}/api/rooms/meet/participants/${bob.joined.peerId}`, { method: 'DELETE' });
    expect(removed.status).toBeLessThan(300);
    await waitFor('Alice to see Bob removed', () => alice.notificationsOf('peerLeft').some(({ peerId }) => peerId === bob.joined.peerId), 5_000);
    // A room that lives nowhere is not found on any bridge.
    expect((await operatorFetch(`${httpUrl(wrong)}/api/rooms/nowhere`)).status).toBe(404);
  }, 30_000);

  it('a join sent on more than twice (bridges disagreeing where a room lives) ends with a clear error, not a loop', async () => {
    // A bridge record (signed: one of the deployment's, misconfigured) naming a relay in front of A under another
    // id, as home of a room: A sends the join to "ghost", which is A again. (A record naming A's own URL under
    // another id would be a dead predecessor of A's, whose rooms A takes over.)
    const a = new URL(httpUrl('a'));
    const relay = await startTcpProxy(Number(a.port), a.hostname);
    const ghostUrl = `http://${relay.address}`;
    const ghost = directoryKeys.bridge('ghost');
    await fleet.redis.multi().hset(ghost, { url: ghostUrl, load: 0, capacity: 1, sig: recordSignature(TEST_API.secret, 'ghost', ghostUrl) }).pexpire(ghost, 30_000).set(directoryKeys.room('looping'), 'ghost', 'PX', 30_000).exec();
    await fleet.redis.sadd(directoryKeys.bridges, 'ghost');
    try {
      await expect(join('a', 'looping', 'Frank')).rejects.toMatchObject({ code: 'elsewhere', message: expect.stringContaining('sent on more than 2 times') });
    } finally {
      await fleet.redis.multi().del(ghost, directoryKeys.room('looping')).srem(directoryKeys.bridges, 'ghost').exec();
      await relay.close();
    }
  });

  it('a browser that opens a room on the wrong bridge is taken to the room on its home, and joins it there', async () => {
    const opener = await join('a', 'browser-meet', 'Opener');
    const home = opener.landedOn;
    const wrong = BRIDGES.find((name) => name !== home)!;
    // Plain HTTP on test addresses: Chromium is told to treat them as secure (camera and microphone), as HTTPS would be.
    const browser = await launchBrowser({ args: [`--unsafely-treat-insecure-origin-as-secure=${BRIDGES.map(httpUrl).join(',')}`] });
    try {
      const page = await browser.newPage();
      await openJoinForm(page, `${httpUrl(wrong)}/browser-meet?audioProcessing=off`, 'Erin');
      await Promise.all([page.waitForNavigation(), page.click('#join-button')]);
      // The move is counted (bridges that disagree cannot send a page round forever), and the count dropped once joined.
      expect(page.url()).toBe(`${httpUrl(home)}/browser-meet?audioProcessing=off&moves=1`);
      await joinThroughUi(page, page.url(), 'Erin');
      expect(page.url()).toBe(`${httpUrl(home)}/browser-meet?audioProcessing=off`);
      await waitFor('the opener to see the browser arrive', () => opener.notificationsOf('peerJoined').some(({ peer }) => peer.displayName === 'Erin'), 5_000);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('with Redis away, each bridge serves its rooms and opens new ones on itself; back, the heartbeats rebuild the directory', async () => {
    const home = (await homeOf('meet'))!;
    await fleet.redisServer.stop();
    const again = await join(home, 'meet', 'Carol');
    expect(again.landedOn).toBe(home);
    expect(again.joined.peers.map((peer) => peer.displayName)).toContain('Alice');
    const lonely = await join('a', 'while-redis-away', 'Dave');
    expect(lonely.landedOn).toBe('a');

    await fleet.startRedis(); // empty: everything must be published again
    await waitFor('every bridge and room back in the directory', async () => {
      for (const name of BRIDGES) if ((await fleet.redis.exists(directoryKeys.bridge(name))) === 0) return false;
      if ((await homeOf('meet')) !== home || (await homeOf('while-redis-away')) !== 'a') return false;
      for (let i = 0; i < 30; i++) if ((await homeOf(`placed-${i}`)) === null) return false;
      return true;
    }, 15_000, 200);
  }, 40_000);

  it('a bridge stopped cleanly leaves the directory at once, with its rooms; one killed leaves it within its TTL', async () => {
    const stopped = 'c';
    const itsRooms = [];
    for (let i = 0; i < 30; i++) if ((await homeOf(`placed-${i}`)) === stopped) itsRooms.push(`placed-${i}`);
    expect(itsRooms.length).toBeGreaterThan(0);
    await fleet.bridges[stopped].stop();
    expect(await fleet.redis.exists(directoryKeys.bridge(stopped))).toBe(0);
    expect(await fleet.redis.sismember(directoryKeys.bridges, stopped)).toBe(0);
    for (const room of itsRooms) expect(await homeOf(room)).toBeNull();

    const killed = 'b';
    process.kill(fleet.bridges[killed].pid, 'SIGKILL');
    await waitFor(`bridge-${killed} to be gone`, () => fleet.bridges[killed].exited, 5_000, 50);
    const killedAt = Date.now();
    expect(await fleet.redis.exists(directoryKeys.bridge(killed))).toBe(1); // nobody removed it: only its TTL will
    await waitFor('the killed bridge\'s record to expire', async () => (await fleet.redis.exists(directoryKeys.bridge(killed))) === 0, 3 * HEARTBEAT_MS + 1000, 100);
    console.log(`the killed bridge left the directory ${Date.now() - killedAt} ms after its death`);

    // What is left places every new room on itself.
    const after = await join('a', 'after-the-others', 'Late');
    expect(after.landedOn).toBe('a');
    expect(await homeOf('after-the-others')).toBe('a');
  }, 30_000);

  it('with Redis gone for good, the last bridge still stops on SIGINT, cleanly and within seconds', async () => {
    await fleet.redisServer.stop();
    const bridge = fleet.bridges.a;
    const asked = Date.now();
    bridge.signal('SIGINT');
    // Nothing sends a second signal: the stop itself must not wait for Redis (it used to hang until killed).
    expect(await bridge.exit(10_000)).toBe(0);
    console.log(`with Redis gone, the bridge stopped ${Date.now() - asked} ms after SIGINT`);
  }, 20_000);
});
