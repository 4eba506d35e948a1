// Cascading: one room served by two bridges, then three. Bridges in regions a, b and c
// share one real redis-server (bridge/main.ts with compose's environment, each
// on a test host of its own); the browsers run on another. Alice opens the
// room through A, its home; Bob opens it through B saying he is in region b:
// B serves him the room as A's satellite, linked to A (an authenticated
// WebSocket, media over a PipeTransport pair), instead of sending him to A.
// Each must see and hear the other by their own tone, see the other listed,
// each producer must be piped to the other bridge once however many consume
// it there, a third bridge C (Carol, region c) must get Bob's media from B
// through the home and give hers to both, a stranger must not open a link, a composite recording of the
// room (with a phone caller) must hold everyone and be shown on both
// bridges, and Bob leaving must leave nothing behind on B.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { linkToken } from '../../bridge/cascade/linkToken.ts';
import { CASCADE_LINK_PATH } from '../../protocol/cascade.ts';
import { writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { TEST_API, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { BridgeFleet } from '../helpers/bridgeFleet.ts';
import { inboundStats, joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { composeEnvironment } from '../helpers/compose.ts';
import { dominant, heardInPage, shareOf, tonesAtBest } from '../helpers/hearing.ts';
import type { TestHost } from '../helpers/hosts.ts';
import { codecs, motionShare, probe } from '../helpers/media.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { joinToken } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.27';
const BRIDGES = ['a', 'b', 'c'] as const;
type BridgeName = (typeof BRIDGES)[number];
const ROOM = 'cascade';
/** Each party's tone: no one's harmonics land on another's. Carol, on C, is in the meeting for one test. */
const TONES = { alice: 500, bob: 700, caller: 1100 } as const;
const CAROL_TONE = 900;
type Party = 'alice' | 'bob' | 'carol';
const PARTIES = ['alice', 'bob'] as const;
const NAMES: Record<Party, string> = { alice: 'Alice', bob: 'Bob', carol: 'Carol' };

describe('cascading: a room served by two bridges, its home in region a and a satellite in region b (and for a while a third, in region c)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cascade-'));
  // Where the recorder writes and both bridges list and serve files (compose's shared volume).
  const recordings = path.join(dir, 'recordings');
  let fleet: BridgeFleet<BridgeName>;
  let clients: TestHost;
  const browsers: Browser[] = [];
  const pages = new Map<Party, Page>();
  let gateway: ServiceProcess | undefined;
  let gatewayB: ServiceProcess | undefined;
  let recorder: ServiceProcess | undefined;
  let caller: Baresip | undefined;

  beforeAll(async () => {
    fleet = await BridgeFleet.start({ id: 'cc', subnet: SUBNET, names: BRIDGES, env: (name) => ({ BRIDGE_REGION: name, RECORDINGS_DIR: recordings }) });
    clients = await fleet.network.addHost('clients', 11);
    for (const party of Object.keys(TONES) as (keyof typeof TONES)[]) {
      writeToneWav(path.join(dir, `${party}.wav`), TONES[party], 300, { sampleRate: party === 'caller' ? 8000 : 16000 });
    }
    writeToneWav(path.join(dir, 'carol.wav'), CAROL_TONE, 300);
  }, 120_000);

  afterAll(async () => {
    await caller?.stop().catch(() => {});
    await gateway?.stop();
    await gatewayB?.stop();
    await recorder?.stop();
    for (const browser of browsers) await browser.close().catch(() => {});
    await fleet?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function openPage(party: Party, url: string): Promise<number> {
    const pageBridges = BRIDGES.map((name) => fleet.httpUrl(name)).join(',');
    const browser = await launchBrowser({
      host: clients,
      args: [`--use-file-for-fake-audio-capture=${path.join(dir, `${party}.wav`)}`, `--unsafely-treat-insecure-origin-as-secure=${pageBridges}`],
    });
    browsers.push(browser);
    const page = await browser.newPage();
    const started = Date.now();
    await joinThroughUi(page, url, NAMES[party]);
    pages.set(party, page);
    return Date.now() - started;
  }

  /** A gauge of a bridge's /metrics (its labels as written there, e.g. `{direction="in"}`). */
  async function metric(bridge: BridgeName, name: string, labels = ''): Promise<number> {
    const text = await (await fetch(`${fleet.httpUrl(bridge)}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line ? Number(line.split(' ')[1]) : Number.NaN;
  }

  /** The rooms a bridge holds (its satellite copies included), by its own REST listing. */
  async function roomsOn(bridge: BridgeName): Promise<string[]> {
    const { rooms } = (await (await operatorFetch(`${fleet.httpUrl(bridge)}/api/rooms`)).json()) as { rooms: { name: string }[] };
    return rooms.map((room) => room.name);
  }

  /**
   * A baresip caller on the clients' host dials the room through the gateway on `gatewayHost`; resolves
   * when the call is up, with the phone and that time. G.711 keeps a tone's shape: what the gateway mixed
   * is found in what the phone got. A caller an earlier failed test left up is hung up first, so none
   * outlives the file.
   */
  async function callThrough(gatewayHost: TestHost): Promise<{ phone: Baresip; since: number }> {
    await caller?.stop().catch(() => {});
    const phone = await Baresip.start({ microphone: path.join(dir, 'caller.wav'), host: clients, codecs: 'PCMU' });
    caller = phone;
    phone.dial(`sip:${ROOM}@${gatewayHost.address}:5060`);
    await phone.waitForEvent('CALL_ESTABLISHED');
    return { phone, since: Date.now() };
  }

  const participantNames = (page: Page) => page.evaluate(() => [...window.conference!.participants.value.values()].map((p) => p.displayName).sort());

  it('serves Bob on B, linked to the home A: each sees and hears the other, and each lists the other', async () => {
    const aliceJoinMs = await openPage('alice', `${fleet.httpUrl('a')}/${ROOM}?audioProcessing=off`);
    expect(await fleet.homeOf(ROOM)).toBe('a');
    // A first join through B makes B's copy of the room and links it; leaving closes it again.
    let linkingJoinMs = Date.now();
    const zed = await fleet.join('b', ROOM, 'Zed', 'web', { region: 'b' });
    linkingJoinMs = Date.now() - linkingJoinMs;
    expect(zed.landedOn).toBe('b');
    zed.client.close();
    await waitFor('B to close its copy of the room', async () => (await metric('b', 'bridge_cascade_links')) === 0, 10_000, 100);
    const bobJoinMs = await openPage('bob', `${fleet.httpUrl('b')}/${ROOM}?audioProcessing=off&region=b`);
    // Bob stayed on B: his page was not moved to A's origin, and B links the room to A.
    expect(new URL(pages.get('bob')!.url()).host).toBe(new URL(fleet.httpUrl('b')).host);
    expect(await fleet.homeOf(ROOM)).toBe('a');
    expect(await metric('b', 'bridge_cascade_links')).toBe(1);
    expect(await metric('a', 'bridge_cascade_links')).toBe(1);

    const since = Date.now();
    const seen: Record<string, number> = {};
    await Promise.all(
      PARTIES.flatMap((party) => {
        const page = pages.get(party)!;
        const other = party === 'alice' ? 'bob' : 'alice';
        let frames: number | undefined;
        return [
          waitFor(`${party} decodes ${other}'s video`, async () => {
            const now = (await inboundStats(page)).filter((s) => s.kind === 'video').reduce((sum, s) => sum + s.framesDecoded, 0);
            const rising = frames !== undefined && now > frames;
            frames = now;
            if (rising && !seen[`${party} sees`]) seen[`${party} sees`] = Date.now() - since;
            return rising;
          }, 20_000, 100),
          waitFor(`${party} hears ${other}`, async () => {
            const heard = (await heardInPage(page, TONES)).map((t) => dominant(t.shares));
            const hears = heard.length === 1 && heard[0] === other;
            if (hears) seen[`${party} hears`] = Date.now() - since;
            return hears;
          }, 20_000, 100),
          waitFor(`${party} lists ${other}`, async () => JSON.stringify(await participantNames(page)) === JSON.stringify([NAMES[other]]), 10_000, 100),
        ];
      }),
    );
    console.log(
      `a signaling join through B that links the room: ${linkingJoinMs} ms; page opened to connected: Alice on the home A ${aliceJoinMs} ms, ` +
        `Bob through the satellite B (linking it again) ${bobJoinMs} ms; then, in ms after:`,
      seen,
    );

    // One meeting, one dial-in PIN: B shows the home's, not its copy's own.
    const pins = await Promise.all(PARTIES.map((party) => pages.get(party)!.$eval('[data-testid=dial-in-pin]', (el) => el.textContent)));
    expect(pins[0]).toMatch(/^[0-9]{6,9}$/);
    expect(pins[1]).toBe(pins[0]);

    // REST on the home lists both participants.
    const view = (await (await operatorFetch(`${fleet.httpUrl('a')}/api/rooms/${ROOM}`)).json()) as { participants: { displayName: string }[] };
    expect(view.participants.map((p) => p.displayName).sort()).toEqual(['Alice', 'Bob']);
  }, 120_000);

  it('pipes each producer to the other bridge once, however many consume it there', async () => {
    // Alice's microphone and camera are on B once each, Bob's on A once each.
    expect(await metric('b', 'bridge_cascade_piped_producers', '{direction="in"}')).toBe(2);
    expect(await metric('a', 'bridge_cascade_piped_producers', '{direction="out"}')).toBe(2);
    expect(await metric('a', 'bridge_cascade_piped_producers', '{direction="in"}')).toBe(2);
    const consumersBefore = await metric('b', 'bridge_consumers', '{worker="0"}');
    // Another participant on B, consuming Alice's producers there.
    let carolJoinMs = Date.now();
    const carol = await fleet.join('b', ROOM, 'Carol', 'web', { region: 'b' });
    carolJoinMs = Date.now() - carolJoinMs;
    console.log(`a signaling join through B, already linked: ${carolJoinMs} ms`);
    expect(carol.landedOn).toBe('b');
    const alice = carol.joined.peers.find((p) => p.displayName === 'Alice')!;
    expect(alice.producers).toHaveLength(2);
    const transport = await carol.client.request('createWebRtcTransport', { direction: 'recv' });
    for (const producer of alice.producers) {
      await carol.client.request('consume', { transportId: transport.id, producerId: producer.id, rtpCapabilities: carol.joined.routerRtpCapabilities, paused: true });
    }
    expect(await metric('b', 'bridge_consumers', '{worker="0"}')).toBe(consumersBefore + 2);
    expect(await metric('b', 'bridge_cascade_piped_producers', '{direction="in"}')).toBe(2);
    carol.client.close();
    await waitFor('Carol to leave', async () => !(await participantNames(pages.get('alice')!)).includes('Carol'), 10_000, 100);
  }, 60_000);

  it('serves Carol on a third bridge C (region c), linked to the home too: the home passes media between its satellites, each producer reaching each bridge once', async () => {
    const carolJoinMs = await openPage('carol', `${fleet.httpUrl('c')}/${ROOM}?audioProcessing=off&region=c`);
    const carol = pages.get('carol')!;
    expect(new URL(carol.url()).host).toBe(new URL(fleet.httpUrl('c')).host);
    expect(await fleet.homeOf(ROOM)).toBe('a');
    // A star: C links to the home only, as B does.
    expect(await metric('c', 'bridge_cascade_links')).toBe(1);
    expect(await metric('a', 'bridge_cascade_links')).toBe(2);
    expect(await metric('b', 'bridge_cascade_links')).toBe(1);
    const since = Date.now();
    const tones = { alice: TONES.alice, bob: TONES.bob, carol: CAROL_TONE };
    const everyone: Party[] = ['alice', 'bob', 'carol'];
    await Promise.all(
      everyone.flatMap((party) => {
        const page = pages.get(party)!;
        const others = everyone.filter((other) => other !== party);
        return [
          // Each of the two others' cameras is decoded: Bob's and Carol's cross two links, through A.
          waitFor(`${party} decodes both others' cameras`, async () => {
            const video = (await inboundStats(page)).filter((s) => s.kind === 'video' && s.source === 'camera' && s.framesDecoded >= 30);
            return video.length === 2;
          }, 30_000, 200),
          waitFor(`${party} hears ${others.join(' and ')}`, async () => {
            const heard = (await heardInPage(page, tones)).map((t) => dominant(t.shares)).sort();
            return JSON.stringify(heard) === JSON.stringify(others);
          }, 30_000, 200),
          waitFor(`${party} lists ${others.join(' and ')}`, async () => JSON.stringify(await participantNames(page)) === JSON.stringify(others.map((o) => NAMES[o])), 10_000, 100),
        ];
      }),
    );
    console.log(`Carol's page opened through C to connected: ${carolJoinMs} ms; all three decoding and hearing each other ${Date.now() - since} ms after`);
    // Each bridge has each producer of the others' once: B's and C's piped in to A, and A's and the other satellite's out to each.
    const piped = async (bridge: BridgeName) => ({
      in: await metric(bridge, 'bridge_cascade_piped_producers', '{direction="in"}'),
      out: await metric(bridge, 'bridge_cascade_piped_producers', '{direction="out"}'),
    });
    expect(await piped('a')).toEqual({ in: 4, out: 8 });
    expect(await piped('b')).toEqual({ in: 4, out: 2 });
    expect(await piped('c')).toEqual({ in: 4, out: 2 });

    await browsers.pop()!.close();
    pages.delete('carol');
    await waitFor('Alice and Bob to see Carol leave', async () => {
      const names = await Promise.all(PARTIES.map((party) => participantNames(pages.get(party)!)));
      return JSON.stringify(names) === JSON.stringify([['Bob'], ['Alice']]);
    }, 15_000, 100);
    await waitFor('C to close its copy of the room and its link', async () => (await roomsOn('c')).length === 0 && (await metric('c', 'bridge_cascade_links')) === 0, 10_000, 100);
    await waitFor('A to keep only the link with B', async () => (await metric('a', 'bridge_cascade_links')) === 1, 10_000, 100);
    expect(await piped('a')).toEqual({ in: 2, out: 2 });
    expect(await piped('b')).toEqual({ in: 2, out: 2 });
  }, 120_000);

  it('keeps to the home what it owns: B refuses it, a lock on A sends new joins through B to A, and Bob on B is shown the lock and the lobby', async () => {
    // A moderator on B (by token) may not lock the room there, nor act on Alice, who is on A.
    const dave = await fleet.join('b', ROOM, 'Dave', 'web', { region: 'b', token: await joinToken({ room: ROOM, role: 'moderator' }) });
    expect(dave.landedOn).toBe('b');
    const alice = dave.joined.peers.find((p) => p.displayName === 'Alice')!;
    await expect(dave.client.request('setRoomPassword', { password: '1234' })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(dave.client.request('muteParticipant', { peerId: alice.id })).rejects.toMatchObject({ code: 'unavailable' });
    await expect(dave.client.request('removeParticipant', { peerId: alice.id })).rejects.toMatchObject({ code: 'unavailable' });
    // E2EE cannot be turned on in a room two bridges serve, on its home either.
    const e2ee = await pages.get('alice')!.evaluate(async () => {
      await window.conference!.setE2ee(true);
      return { on: window.conference!.e2ee.value, notices: window.conference!.notices.value.map((n) => n.text) };
    });
    expect(e2ee.on).toBe(false);
    expect(e2ee.notices.join('\n')).toContain('bridge b, serving this meeting with this one');
    // Nor start a recording there (REST on B is sent to the home: see the recording below).
    await expect(dave.client.request('startRecording', { file: true })).rejects.toMatchObject({ code: 'unavailable' });
    dave.client.close();

    expect(await pages.get('alice')!.evaluate(() => window.conference!.setRoomPassword('1234'))).toBe(true);
    // Bob, on B, is shown the lock as Alice is, and told who locked it: the home tells its satellites.
    const bob = pages.get('bob')!;
    const shownToBob = async (chip: string, shown: boolean, notice: string) => {
      await bob.waitForSelector(`[data-testid=${chip}]`, { hidden: !shown, timeout: 10_000 });
      // The notice comes with the chip, and is dismissed 8 s later.
      expect(await bob.evaluate(() => window.conference!.notices.value.map((n) => n.text))).toContain(notice);
    };
    await shownToBob('room-locked', true, 'Alice locked the meeting');
    // REST on B is about the meeting, not B's copy of it: it is answered by the home.
    expect(((await (await operatorFetch(`${fleet.httpUrl('b')}/api/rooms/${ROOM}`)).json()) as { locked: boolean }).locked).toBe(true);
    await expect(fleet.join('b', ROOM, 'Eve', 'web', { region: 'b' })).rejects.toMatchObject({ code: 'passwordRequired' });
    const eve = await fleet.join('b', ROOM, 'Eve', 'web', { region: 'b', password: '1234' });
    expect(eve.landedOn).toBe('a');
    eve.client.close();
    expect(await pages.get('alice')!.evaluate(() => window.conference!.setRoomPassword(null))).toBe(true);
    await shownToBob('room-locked', false, 'Alice unlocked the meeting');
    // The lobby likewise.
    await pages.get('alice')!.evaluate(() => window.conference!.setLobby(true));
    await shownToBob('lobby-on', true, 'Alice turned the lobby on');
    await pages.get('alice')!.evaluate(() => window.conference!.setLobby(false));
    await shownToBob('lobby-on', false, 'Alice turned the lobby off');
    await waitFor('Dave and Eve to leave', async () => JSON.stringify(await participantNames(pages.get('alice')!)) === '["Bob"]', 10_000, 100);
  }, 60_000);

  it('refuses a link to a stranger (no token, a forged one, one made for another bridge, a bridge the directory does not list) and nothing changes', async () => {
    const url = `${fleet.httpUrl('a').replace(/^http/, 'ws')}${CASCADE_LINK_PATH}`;
    const statusOf = (authorization?: string) =>
      new Promise<number>((resolve, reject) => {
        const socket = new WebSocket(url, authorization ? { headers: { authorization } } : {});
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.once('open', () => {
          socket.close();
          reject(new Error('the link opened'));
        });
        socket.once('error', reject);
      });
    expect(await statusOf()).toBe(401);
    expect(await statusOf(`Bearer ${linkToken('not-the-deployment-secret-0123456789', { bridge: 'b', room: ROOM, target: 'a' })}`)).toBe(401);
    // A token B made for a link to another bridge (here itself) opens none to A.
    expect(await statusOf(`Bearer ${linkToken(TEST_API.secret, { bridge: 'b', room: ROOM, target: 'b' })}`)).toBe(401);
    expect(await statusOf(`Bearer ${linkToken(TEST_API.secret, { bridge: 'ghost', room: ROOM, target: 'a' })}`)).toBe(403);
    expect(await metric('a', 'bridge_cascade_links')).toBe(1);
    expect(await participantNames(pages.get('alice')!)).toEqual(['Bob']);
  });

  it('a phone caller through a gateway on A is heard by Bob on B, and hears him (and stays for the recording)', async () => {
    const started = await fleet.startGateway('a', 10);
    gateway = started.gateway;
    const { phone, since } = await callThrough(started.host);
    await Promise.all([
      waitFor('Bob hears the caller and Alice', async () => {
        const heard = (await heardInPage(pages.get('bob')!, TONES)).map((t) => dominant(t.shares)).sort();
        return JSON.stringify(heard) === JSON.stringify(['alice', 'caller']);
      }, 20_000, 100),
      waitFor('the caller hears Bob and Alice', () => {
        if (Date.now() - since < 500) return false;
        const { samples, sampleRate } = phone.recentAudio(0.5);
        const share = shareOf(samples, sampleRate, TONES);
        return share.alice > 0.05 && share.bob > 0.05 && share.caller < 0.02;
      }, 20_000, 100),
    ]);
    console.log(`the caller and Bob (on B) heard each other ${Date.now() - since} ms after the call was established`);
  }, 60_000);

  it('a composite recording asked on B holds every tone and both browsers, and Bob on B is shown it while it runs', async () => {
    const started = Date.now();
    const host = await fleet.network.addHost('recorder', 12);
    recorder = ServiceProcess.start(host, 'recorder', process.execPath, ['recorder/main.ts'], {
      ...composeEnvironment('recorder', { SERVICE_SECRET: TEST_SERVICE_SECRET }),
      // B is the recorder's bridge: B serves the room, so the recorder joins it there, as any join through B would.
      BRIDGE_URL: fleet.httpUrl('b'),
      REDIS_URL: `redis://${fleet.hosts.redis.address}:6379`,
      RECORDINGS_DIR: recordings,
    });
    await recorder.waitForLog('recorder waiting for jobs', 30_000);
    const ready = Date.now();
    const peers = async (bridge: BridgeName) => metric(bridge, 'bridge_peers', '{worker="0"}');
    const consumers = async (bridge: BridgeName) => metric(bridge, 'bridge_consumers', '{worker="0"}');
    const before = { peersA: await peers('a'), peersB: await peers('b'), consumersB: await consumers('b') };
    // REST on B is sent to the home, which starts it.
    const api = recordingsApi(fleet.httpUrl('b'), ROOM);
    const recording = await api.start({ file: true });
    const bob = pages.get('bob')!;
    await bob.waitForSelector('[data-testid=recording-indicator]', { timeout: 30_000 });
    const shown = Date.now();
    // The recorder joined through its bridge, B, which serves the room: it receives everyone there,
    // Bob's camera and microphone, and Alice's and the caller's, piped from A.
    await waitFor('the recorder to join B and receive all five sources', async () => (await consumers('b')) === before.consumersB + 5, 30_000, 100);
    expect(await peers('b')).toBe(before.peersB + 1);
    expect(await peers('a')).toBe(before.peersA);
    const inB = Date.now();
    // Who joins through B meanwhile is told at once, as on the home.
    const zoe = await fleet.join('b', ROOM, 'Zoe', 'web', { region: 'b' });
    expect(zoe.landedOn).toBe('b');
    expect(zoe.joined.recordings.map((r) => r.id)).toEqual([recording.id]);
    zoe.client.close();
    const seconds = 8;
    await waitFor(`the recording to capture ${seconds} s`, async () => {
      const current = (await api.listing()).current.find((r) => r.id === recording.id);
      if (current?.state === 'failed') throw new Error(`recording failed: ${current.error}`);
      return (current?.durationSeconds ?? 0) >= seconds;
    }, 60_000, 250);
    const captured = Date.now();
    expect(await api.stop(recording.id)).toBe(204);
    await waitFor("Bob's recording indicator to go", async () => !(await bob.$('[data-testid=recording-indicator]')), 30_000, 200);
    const gone = Date.now();
    const listed = await waitFor(`the file of recording ${recording.id}`, async () => (await api.listing()).files.find((f) => f.id === recording.id), 60_000, 250);
    const response = await api.download(listed.url);
    expect(response.status).toBe(200);
    const file = path.join(dir, listed.name);
    fs.writeFileSync(file, Buffer.from(await response.arrayBuffer()));
    const probed = await probe(file);
    expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
    // 8 s were captured; a Stop lets a lagging encoder catch up for at most 3 s (recorder/capture/ScreenCapture.ts).
    const duration = Number(probed.format.duration);
    expect(duration).toBeGreaterThan(seconds - 3);
    expect(duration).toBeLessThan(seconds + 6);
    const { from, shares } = await tonesAtBest(file, TONES);
    // The grid shows Alice's and Bob's cameras side by side above the caller's tile: each moves.
    const motion = {
      left: await motionShare(file, { left: 0, top: 0, width: 0.5, height: 0.5 }),
      right: await motionShare(file, { left: 0.5, top: 0, width: 0.5, height: 0.5 }),
    };
    console.log(
      `recording of the room on two bridges, in ms: recorder started ${ready - started}, asked to shown on B ${shown - ready}, recorder in ${inB - shown}, ` +
        `${seconds} s captured ${captured - inB}, stopped to indicator gone ${gone - captured}, file listed and fetched ${Date.now() - gone}`,
      { duration, from, shares, motion },
    );
    for (const party of Object.keys(TONES) as (keyof typeof TONES)[]) expect(shares[party], party).toBeGreaterThan(0.04);
    expect(motion.left, "the upper left tile's motion").toBeGreaterThan(0.5);
    expect(motion.right, "the upper right tile's motion").toBeGreaterThan(0.5);
    await recorder.stop();
    recorder = undefined;
    await caller!.stop();
    caller = undefined;
    await waitFor('the caller to leave', async () => JSON.stringify(await participantNames(pages.get('alice')!)) === '["Bob"]', 10_000, 100);
  }, 120_000);

  it('when Bob leaves, Alice sees him go, and B closes its copy of the room with its link and pipes', async () => {
    await browsers[1]!.close();
    await waitFor('Alice to see Bob leave', async () => (await participantNames(pages.get('alice')!)).length === 0, 15_000, 100);
    for (const bridge of BRIDGES) {
      await waitFor(`${bridge} to close the link`, async () => (await metric(bridge, 'bridge_cascade_links')) === 0, 10_000, 100);
      expect(await metric(bridge, 'bridge_cascade_piped_producers', '{direction="in"}')).toBe(0);
      expect(await metric(bridge, 'bridge_cascade_piped_producers', '{direction="out"}')).toBe(0);
    }
    expect(await roomsOn('b')).toEqual([]);
    expect(await roomsOn('a')).toEqual([ROOM]);
  });

  it('a caller through a gateway in region b (GATEWAY_REGION) is served by B, which links the room again for them; Alice on A and the caller hear each other', async () => {
    // B serves the room no more (Bob left): without the region, B would send the caller's join to A.
    const started = await fleet.startGateway('b', 13, { name: 'gateway-b', env: { GATEWAY_REGION: 'b' } });
    gatewayB = started.gateway;
    const { phone, since } = await callThrough(started.host);
    await Promise.all([
      waitFor('Alice (on A) hears the caller', async () => {
        const heard = (await heardInPage(pages.get('alice')!, TONES)).map((t) => dominant(t.shares));
        return JSON.stringify(heard) === JSON.stringify(['caller']);
      }, 20_000, 100),
      waitFor('the caller hears Alice', () => {
        if (Date.now() - since < 500) return false;
        const { samples, sampleRate } = phone.recentAudio(0.5);
        const share = shareOf(samples, sampleRate, TONES);
        return share.alice > 0.05 && share.caller < 0.02;
      }, 20_000, 100),
    ]);
    // B serves them: its copy of the room holds the caller and the gateway's hidden listener, linked to A, which gets the caller's voice piped in.
    expect(await roomsOn('b')).toEqual([ROOM]);
    expect(await metric('b', 'bridge_peers', '{worker="0"}')).toBe(2);
    expect(await metric('b', 'bridge_cascade_links')).toBe(1);
    expect(await metric('a', 'bridge_cascade_piped_producers', '{direction="in"}')).toBe(1);
    await phone.stop();
    caller = undefined;
    await waitFor('the caller to leave', async () => (await participantNames(pages.get('alice')!)).length === 0, 10_000, 100);
    await waitFor('B to close its copy again', async () => (await roomsOn('b')).length === 0, 10_000, 100);
    await gatewayB.stop();
    gatewayB = undefined;
  }, 60_000);

  it('when the home closes the room (asked on B: REST is sent to the home), B closes its copy, telling its participants the same', async () => {
    const frank = await fleet.join('b', ROOM, 'Frank', 'web', { region: 'b' });
    expect(frank.landedOn).toBe('b');
    await waitFor('B to link the room', async () => (await metric('a', 'bridge_cascade_links')) === 1, 10_000, 100);
    expect((await operatorFetch(`${fleet.httpUrl('b')}/api/rooms/${ROOM}`, { method: 'DELETE' })).status).toBe(204);
    await waitFor('Frank to be told the room closed', () => frank.notificationsOf('disconnected').some((d) => d.reason === 'roomClosed'), 10_000, 100);
    await waitFor('A to close the room', async () => (await roomsOn('a')).length === 0, 10_000, 100);
    await waitFor('B to close its copy', async () => (await roomsOn('b')).length === 0 && (await metric('b', 'bridge_cascade_links')) === 0, 10_000, 100);
  });
});
