// Draining a bridge among three sharing one room directory (real bridge/main.ts
// processes on test hosts, a real redis-server): drained through REST or by
// SIGTERM, a bridge takes no new rooms (the directory places them on the
// others), keeps serving the rooms it has, and exits once they have ended;
// a second SIGTERM stops it at once; only the operator may drain; a room that
// never empties is closed at the drain's deadline, and a browser in it moves
// to another bridge by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryKeys } from '../../bridge/directory/BridgeDirectory.ts';
import type { PeerInfo } from '../../protocol/protocol.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.19';
const BRIDGES = ['a', 'b', 'c'] as const;
type BridgeName = (typeof BRIDGES)[number];

interface DrainState {
  draining: boolean;
  startedBy?: string;
  deadline?: string;
  rooms: number;
  participants: number;
}

describe('draining a bridge among three', () => {
  let fleet: BridgeFleet<BridgeName>;
  const api = (name: BridgeName, path: string) => `${fleet.httpUrl(name)}/api/bridge${path}`;
  const drain = (name: BridgeName, body?: unknown) =>
    operatorFetch(api(name, '/drain'), { method: 'POST', ...(body !== undefined && { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }) });
  const stateOf = async (name: BridgeName) => (await (await operatorFetch(api(name, ''))).json()) as DrainState;
  const inDirectory = async (name: BridgeName) => (await fleet.redis.exists(directoryKeys.bridge(name))) === 1;

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'drn', subnet: SUBNET, names: BRIDGES });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('only the operator may drain (401 without credentials, 403 for a room member); a bad timeout is refused; nothing drains', async () => {
    const member = await fleet.join('c', 'members-only', 'Mallory');
    expect((await fetch(api('c', '/drain'), { method: 'POST' })).status).toBe(401);
    const asMember = await fetch(api('c', '/drain'), { method: 'POST', headers: { authorization: `Bearer ${member.joined.accessToken}` } });
    expect(asMember.status).toBe(403);
    expect((await fetch(api(member.landedOn, ''))).status).toBe(401);
    const tooLong = await drain('c', { timeoutSeconds: 99_999 });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toMatch(/timeoutSeconds/);
    for (const name of BRIDGES) expect(await stateOf(name)).toMatchObject({ draining: false });
    expect(await fleet.redis.hget(directoryKeys.bridge('c'), 'capacity')).toBe('1000');
    member.client.close();
  });

  it('drained through REST: new rooms go to the other bridges, its room takes a second participant, and it exits 0 when they leave', async () => {
    const alice = await fleet.join('a', 'under-way', 'Alice');
    expect(alice.landedOn).toBe('a');
    const answer = await drain('a');
    expect(answer.status).toBe(202);
    const state = (await answer.json()) as DrainState;
    expect(state).toMatchObject({ draining: true, startedBy: 'operator', rooms: 1, participants: 1 });
    expect(Date.parse(state.deadline!) - Date.now()).toBeGreaterThan(50_000); // BRIDGE_DRAIN_TIMEOUT_SECONDS' default, 60 s
    // Idempotent: the same drain, the same deadline.
    expect(((await (await drain('a')).json()) as DrainState).deadline).toBe(state.deadline);
    expect(await fleet.redis.hget(directoryKeys.bridge('a'), 'capacity')).toBe('0');

    // Openers stay while the others join, so the load spreads over B and C.
    const openers = [];
    for (let i = 0; i < 6; i++) openers.push(await fleet.join('a', `new-${i}`, `Opener ${i}`));
    const landed = openers.map((opener) => opener.landedOn);
    expect(landed).not.toContain('a');
    expect(new Set(landed)).toEqual(new Set(['b', 'c']));
    for (const opener of openers) opener.client.close();

    // People still join the meeting under way, even through another bridge (the directory sends them to A).
    const bob = await fleet.join('b', 'under-way', 'Bob');
    expect(bob.landedOn).toBe('a');
    expect(bob.joined.peers.map((peer) => peer.displayName)).toEqual(['Alice']);
    expect(await stateOf('a')).toMatchObject({ rooms: 1, participants: 2 });

    alice.client.close();
    await waitFor('Bob to see Alice leave', () => bob.notificationsOf('peerLeft').length === 1, 5_000);
    expect(fleet.bridges.a.exited).toBe(false); // Bob is still in the meeting
    bob.client.close();
    expect(await fleet.bridges.a.exit(10_000)).toBe(0);
    expect(await inDirectory('a')).toBe(false);
    expect(await fleet.homeOf('under-way')).toBeNull();
  }, 40_000);

  it('SIGTERM drains: the room ends when its participant leaves (its hidden recorder does not keep it), then the bridge exits 0', async () => {
    const carol = await fleet.join('b', 'sigterm', 'Carol');
    expect(carol.landedOn).toBe('b');
    const recorder = await fleet.join('b', 'sigterm', 'Recorder', 'recorder');
    fleet.bridges.b.signal('SIGTERM');
    await waitFor('B to publish that it drains', async () => (await fleet.redis.hget(directoryKeys.bridge('b'), 'capacity')) === '0', 5_000, 50);
    expect(await stateOf('b')).toMatchObject({ draining: true, startedBy: 'SIGTERM', rooms: 1, participants: 1 });
    const opener = await fleet.join('b', 'after-sigterm', 'Opener');
    expect(opener.landedOn).toBe('c');
    opener.client.close();

    carol.client.close();
    expect(await fleet.bridges.b.exit(10_000)).toBe(0);
    expect(recorder.notificationsOf('disconnected')).toHaveLength(1);
    expect(await inDirectory('b')).toBe(false);
  }, 30_000);

  it('alone in the directory, a draining bridge refuses new meetings saying why; a second SIGTERM stops it at once', async () => {
    const dave = await fleet.join('c', 'last-one', 'Dave');
    expect(dave.landedOn).toBe('c');
    const firstAt = Date.now();
    fleet.bridges.c.signal('SIGTERM');
    await waitFor('C to drain', async () => (await stateOf('c')).draining, 5_000, 50);
    await expect(fleet.join('c', 'refused', 'Eve')).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('this bridge is shutting down: it takes no new meetings') });
    // The meeting under way still takes people.
    const frank = await fleet.join('c', 'last-one', 'Frank');
    expect(frank.landedOn).toBe('c');

    // A second request, not the first one delivered twice (as npm forwards it): that is taken as one (common/lifecycle.ts).
    await waitFor('the first SIGTERM to be a while ago', () => Date.now() - firstAt > 500, 5_000, 50);
    const secondAt = Date.now();
    fleet.bridges.c.signal('SIGTERM');
    expect(await fleet.bridges.c.exit(5_000)).toBe(0);
    console.log(`a second SIGTERM stopped the draining bridge in ${Date.now() - secondAt} ms`);
    await waitFor('Dave to be told the server is going away', () => dave.notificationsOf('disconnected').length === 1, 5_000);
    expect(dave.notificationsOf('disconnected')[0]).toMatchObject({ reason: 'shuttingDown' });
  }, 30_000);

  it('at the deadline, a room that never empties is closed and the bridge exits 0', async () => {
    fleet.startBridge('a');
    await fleet.bridges.a.waitForLog('bridge ready', 60_000);
    const grace = await fleet.join('a', 'endless', 'Grace');
    expect(grace.landedOn).toBe('a');
    const answer = await drain('a', { timeoutSeconds: 2 });
    expect(answer.status).toBe(202);
    const startedAt = Date.now();
    expect(await fleet.bridges.a.exit(10_000)).toBe(0);
    const waited = Date.now() - startedAt;
    console.log(`the drain deadline (2 s) stopped the bridge after ${waited} ms`);
    expect(waited).toBeGreaterThan(1_500);
    await waitFor('Grace to be told the server is going away', () => grace.notificationsOf('disconnected').length === 1, 5_000);
    expect(grace.notificationsOf('disconnected')[0]).toMatchObject({ reason: 'shuttingDown' });
  }, 90_000);

  it("at the deadline, a browser's meeting moves to another bridge: the page rejoins there by itself, its camera still on, still end-to-end encrypted", async () => {
    for (const name of ['a', 'b'] as const) fleet.startBridge(name);
    await Promise.all((['a', 'b'] as const).map((name) => fleet.bridges[name].waitForLog('bridge ready', 60_000)));
    // Each lists the other at a heartbeat once both are up: only then may A's page reach B (connect-src) and its join name B as its fallback.
    await fleet.waitUntilListed(['a', 'b']);
    const browser = await launchBrowser({ args: [`--unsafely-treat-insecure-origin-as-secure=${BRIDGES.map((name) => fleet.httpUrl(name)).join(',')}`] });
    try {
      const page = await browser.newPage();
      const room = 'moving-on';
      await joinThroughUi(page, `${fleet.httpUrl('a')}/${room}`, 'Heidi');
      expect(await fleet.homeOf(room)).toBe('a');
      // An end-to-end encrypted meeting (Heidi, its first participant, moderates it).
      await page.click('#toggle-participants');
      await page.click('#toggle-e2ee');
      await page.waitForSelector('[data-testid=e2ee-on]', { timeout: 10_000 });
      const before = await page.evaluate(() => window.conference!.selfId.value);
      expect(await drain('a', { timeoutSeconds: 2 }).then((r) => r.status)).toBe(202);
      expect(await fleet.bridges.a.exit(10_000)).toBe(0);
      const movedAt = Date.now();
      await waitFor('the page to rejoin on B', async () => {
        const { selfId, status } = await page.evaluate(() => ({ selfId: window.conference!.selfId.value, status: window.conference!.status.value }));
        return selfId !== before && status === 'connected';
      }, 10_000, 50);
      console.log(`the drained bridge exited; the page was back in its meeting on another bridge ${Date.now() - movedAt} ms later`);
      expect(await fleet.homeOf(room)).toBe('b');
      // The page did not move (no new permission prompt), and its camera kept sending.
      expect(new URL(page.url()).origin).toBe(fleet.httpUrl('a'));
      expect(await page.evaluate(() => window.conference!.cameraTrack.value?.readyState)).toBe('live');
      // On B, Heidi sends her microphone and camera again, still end-to-end encrypted: the meeting
      // started afresh there (E2EE off), and her page, a moderator's, turned E2EE on again first.
      const heidi = await waitFor('Heidi to send her microphone and camera on B', async () => {
        const { rooms } = (await (await operatorFetch(`${fleet.httpUrl('b')}/api/rooms`)).json()) as { rooms: { name: string; participants: PeerInfo[] }[] };
        const heidi = rooms.find((r) => r.name === room)?.participants.find((p) => p.displayName === 'Heidi');
        return heidi?.producers.map((producer) => producer.source).sort().join() === 'camera,mic' ? heidi : undefined;
      }, 10_000, 100);
      expect(heidi.encrypting).toBe(true);
      await page.waitForSelector('[data-testid=e2ee-on]', { timeout: 5_000 });
    } finally {
      await browser.close();
    }
  }, 120_000);
});
