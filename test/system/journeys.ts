// What users do with the product as shipped, run against a deployment (the
// all-in-one, or the services split over hosts) from client hosts of its
// network: two browsers and two phones in one room, each sending its own
// tone, a composite recording with a live stream, a dial-out, an audio-only
// recording of the phones. Every check detects each party's own frequency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiCredentials } from '../../bridge/auth/ApiCredentials.ts';
import type { RecordingFile, RecordingInfo } from '../../protocol/protocol.ts';
import { writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { inboundStats, joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { dominant, heardInPage as heardTonesInPage, shareOf, tonesAtBest } from '../helpers/hearing.ts';
import type { TestHost } from '../helpers/hosts.ts';
import { audioOf, codecs, motionShare, probe } from '../helpers/media.ts';
import { NginxRtmp } from '../helpers/nginxRtmp.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { startSipp, type SippProcess } from '../helpers/sipp.ts';
import { Stunnel, TestCa } from '../helpers/testCa.ts';
import { expectAck, expectBye, expectInvite, respond, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

/** Each party's tone: no one's harmonics land on another's. */
export const TONES = { alice: 500, bob: 700, pinCaller: 1100, uriCaller: 1300 } as const;
type Party = keyof typeof TONES;
const PARTIES = Object.keys(TONES) as Party[];

export interface Deployment {
  /** Where users open the web client and operators call REST: https://<address>:8443, or http://<address>:8080 */
  webUrl: () => string;
  /** The operator's API key and secret, as the bridge made them on first start (REST calls). */
  operator: () => ApiCredentials;
  /** What the client hosts' Chromium needs to give that page camera and microphone (trust its certificate, or treat HTTP as secure). */
  browserArgs: () => string[];
  /** The SIP gateway's address (port 5060; 5061 for TLS). */
  sipHost: () => string;
  /** The CA (or self-signed certificate) to trust for the gateway's SIP over TLS: the room-URI caller then calls over TLS with SRTP. */
  sipTlsCa?: () => string;
  /** The host the browsers and softphones run on. */
  clients: () => TestHost;
  /** Where the dial-out trunk (a sipp callee) listens on the clients host. */
  trunkPort: number;
  /** Stream over RTMPS to servers with certificates of this CA (the recorder's RECORDER_STREAM_CA_FILE). */
  streamCa?: () => TestCa;
}

const ROOM = 'townhall';

const heardIn = (page: Page) => heardTonesInPage(page, TONES);

/**
 * Registers the journeys (in the calling describe) against `deployment`.
 * They run in order and share the room: each builds on the one before.
 */
export function meetingJourneys(deployment: Deployment): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'system-'));
  const browsers: Browser[] = [];
  const pages = new Map<Party, Page>();
  const phones = new Map<Party, Baresip>();
  let nginx: NginxRtmp | undefined;
  let callee: SippProcess | undefined;
  const stunnels: Stunnel[] = [];
  const api = () => recordingsApi(deployment.webUrl(), ROOM, deployment.operator());

  beforeAll(() => {
    for (const party of PARTIES) {
      const phone = party === 'pinCaller' || party === 'uriCaller';
      writeToneWav(path.join(dir, `${party}.wav`), TONES[party], 300, { sampleRate: phone ? 8000 : 16000 });
    }
  });

  afterAll(async () => {
    for (const phone of phones.values()) await phone.stop().catch(() => {});
    for (const browser of browsers) await browser.close().catch(() => {});
    await callee?.stop();
    for (const stunnel of stunnels) await stunnel.stop();
    await nginx?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function recordingFile(id: string): Promise<string> {
    const file: RecordingFile = await waitFor(`the file of recording ${id}`, async () => (await api().listing()).files.find((f) => f.id === id), 60_000, 250);
    const response = await api().download(file.url);
    expect(response.status).toBe(200);
    const local = path.join(dir, file.name);
    fs.writeFileSync(local, Buffer.from(await response.arrayBuffer()));
    return local;
  }

  /** Records for `seconds` of capture: the file, and the recording as it was last seen running. */
  async function recordFor(body: object, seconds: number): Promise<{ file: string; running: RecordingInfo }> {
    const recording = await api().start(body);
    // Each live stream has also settled (live, or refused): on 2 loaded cores the encoder can run
    // seconds behind the capture, and a stream goes live with the encoder's first output.
    const running = await waitFor(`recording ${recording.id} to capture ${seconds} s, its streams settled`, async () => {
      const current = (await api().listing()).current.find((r) => r.id === recording.id);
      if (current?.state === 'failed') throw new Error(`recording failed: ${current.error}`);
      const settled = current?.streams.every((s) => s.state !== 'connecting');
      return (current?.durationSeconds ?? 0) >= seconds && settled ? current : null;
    }, 90_000, 250);
    expect(await api().stop(recording.id)).toBe(204);
    return { file: await recordingFile(recording.id), running };
  }

  it(`a. two browsers and two phones (PIN, and room URI${deployment.sipTlsCa ? ' over TLS with SRTP' : ''}) all hear each other; phones get everyone but themselves`, async () => {
    const clients = deployment.clients();
    const webUrl = deployment.webUrl();
    for (const [party, name] of [['alice', 'Alice'], ['bob', 'Bob']] as const) {
      const browser = await launchBrowser({
        host: clients,
        args: [`--use-file-for-fake-audio-capture=${path.join(dir, `${party}.wav`)}`, ...deployment.browserArgs()],
      });
      browsers.push(browser);
      const page = await browser.newPage();
      // Original sound: the browser's noise suppressor would remove a steady tone.
      await joinThroughUi(page, `${webUrl}/${ROOM}?audioProcessing=off`, name);
      pages.set(party, page);
    }
    const alice = pages.get('alice')!;
    await alice.waitForSelector('[data-testid=dial-in-pin]');
    const pin = await alice.$eval('[data-testid=dial-in-pin]', (el) => el.textContent!);

    const pinCaller = await Baresip.start({ microphone: path.join(dir, 'pinCaller.wav'), host: clients });
    phones.set('pinCaller', pinCaller);
    pinCaller.dial(`sip:15550100@${deployment.sipHost()}:5060`);
    await pinCaller.waitForEvent('CALL_ESTABLISHED');
    await pinCaller.sendDigits(`${pin}#`);
    // Secure trunking where the deployment has it: SIP over TLS on 5061, SRTP required by the phone.
    const sipTlsCa = deployment.sipTlsCa?.();
    const uriCaller = await Baresip.start({ microphone: path.join(dir, 'uriCaller.wav'), host: clients, ...(sipTlsCa ? { secure: { ca: sipTlsCa } } : {}) });
    phones.set('uriCaller', uriCaller);
    uriCaller.dial(sipTlsCa ? `sip:${ROOM}@${deployment.sipHost()}:5061;transport=tls` : `sip:${ROOM}@${deployment.sipHost()}:5060`);
    await uriCaller.waitForEvent('CALL_ESTABLISHED');
    if (sipTlsCa) expect(uriCaller.output).toContain('SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)');

    // Each browser hears each of the three others on their own track, by their own tone.
    for (const [party, page] of pages) {
      const others = PARTIES.filter((p) => p !== party).sort();
      const heard = await waitFor(
        `${party} to hear ${others.join(', ')}`,
        async () => {
          const tracks = await heardIn(page);
          const sources = tracks.map((t) => dominant(t.shares)).filter(Boolean).sort();
          return JSON.stringify(sources) === JSON.stringify(others) ? tracks : null;
        },
        30_000,
        500,
      );
      console.log(`${party} hears`, heard.map((t) => `${t.kind} ${t.name}: ${JSON.stringify(t.shares, (_k, v: unknown) => (typeof v === 'number' ? Number(v.toFixed(3)) : v))}`).join('; '));
    }
    // Video flows between the browsers.
    for (const page of pages.values()) {
      await waitFor('frames decoded from the other browser', async () => (await inboundStats(page)).some((s) => s.kind === 'video' && s.framesDecoded > 30), 20_000, 500);
    }
    // Each phone hears the other three, not itself (mix-minus).
    for (const party of ['pinCaller', 'uriCaller'] as const) {
      const others = PARTIES.filter((p) => p !== party);
      const shares = await waitFor(
        `${party} to hear ${others.join(', ')} and not itself`,
        () => {
          const { samples, sampleRate } = phones.get(party)!.recentAudio(2);
          const share = shareOf(samples, sampleRate, TONES);
          return others.every((p) => share[p] > 0.05) && share[party] < 0.02 ? share : null;
        },
        20_000,
        500,
      );
      console.log(`${party} hears`, shares);
    }
  }, 180_000);

  it(`b and c. a composite recording holds all four tones and moving video; its live stream reaches nginx-rtmp${deployment.streamCa ? ' over RTMPS' : ''} with the tones`, async () => {
    const clients = deployment.clients();
    nginx = await NginxRtmp.start(clients);
    const streams = [nginx.url('townhall')];
    if (deployment.streamCa) {
      // nginx behind a TLS terminator with a certificate of the CA the recorder trusts, and
      // behind another with one of a CA it does not: that destination must fail, alone.
      const stranger = await TestCa.create(path.join(dir, 'stranger-ca'), 'Nobody Trusts This CA');
      const behind = `${clients.address}:${nginx.rtmpPort}`;
      stunnels.push(
        await Stunnel.start({ host: clients, accept: 1936, connect: behind, cert: await deployment.streamCa().issue(clients.address), dir }),
        await Stunnel.start({ host: clients, accept: 1937, connect: behind, cert: await stranger.issue(clients.address), dir }),
      );
      streams.splice(0, 1, `rtmps://${clients.address}:1936/live/townhall`, `rtmps://${clients.address}:1937/live/untrusted`);
    }
    const { file, running } = await recordFor({ file: true, streams }, 10);
    console.log('streams while recording', running.streams);
    expect(running.streams[0]!.state).toBe('live');
    if (deployment.streamCa) {
      expect(running.streams[1]).toMatchObject({ state: 'failed', error: expect.stringMatching(/certificate is not trusted/) });
      expect(nginx.recordings('untrusted')).toEqual([]);
    }
    const probed = await probe(file);
    expect(codecs(probed)).toEqual(['audio:aac', 'video:h264']);
    // 10 s were captured; on 2 cores beside three browsers the encoder runs behind, and a Stop
    // lets it catch up for at most 3 s before it finishes the file (recorder/capture/ScreenCapture.ts).
    expect(Number(probed.format.duration)).toBeGreaterThan(6);
    const { from, shares } = await tonesAtBest(file, TONES);
    console.log('recording', { duration: probed.format.duration, from, shares });
    for (const party of PARTIES) expect(shares[party], party).toBeGreaterThan(0.04);
    const motion = await motionShare(file);
    console.log('recording motion', motion);
    expect(motion).toBeGreaterThan(0.3);

    await nginx.stop();
    const [flv] = nginx.recordings('townhall');
    expect(flv, 'nginx recorded the stream').toBeDefined();
    const { from: streamedFrom, shares: streamedShares } = await tonesAtBest(flv!.file, TONES);
    console.log('live stream', { from: streamedFrom, shares: streamedShares });
    for (const party of PARTIES) expect(streamedShares[party], party).toBeGreaterThan(0.04);
  }, 180_000);

  it('d. a phone invited from the meeting (dial-out over the trunk) is heard in the room and hears it', async () => {
    const clients = deployment.clients();
    // The callee echoes what it hears: the room hearing the room's tones from it proves both directions.
    callee = startSipp({
      scenario: writeScenario('system-callee', [expectInvite('sip:+15550100199@'), respond(180, 'Ringing'), respond(200, 'OK'), expectAck, expectBye(120_000)]),
      host: clients,
      localIp: clients.address,
      localPort: deployment.trunkPort,
      calls: 1,
      timeoutSeconds: 150,
      args: ['-mp', String(deployment.trunkPort + 100), '-rtp_echo'],
    });
    // Dial only once the trunk listens (a request to an unbound port fails at once on drachtio-server).
    await waitFor('the trunk to listen', async () => (await clients.exec('ss', ['-H', '-lun', `sport = :${deployment.trunkPort}`])).trim() !== '');
    const alice = pages.get('alice')!;
    await alice.click('#toggle-participants');
    await alice.waitForSelector('#invite-number');
    await alice.type('#invite-number', '+1 555 010 0199');
    await alice.click('#invite-button');
    await alice.waitForSelector('[data-testid=invitation][data-state=answered]', { timeout: 20_000 });
    const echoed = await waitFor(
      'the callee to be heard with the room it hears',
      async () => {
        const track = (await heardIn(alice)).find((t) => t.name.includes('15550100199'));
        // Alice hears in the callee's echo the room without the callee: her own tone among them.
        return track && PARTIES.every((p) => (track.shares[p] ?? 0) > 0.03) ? track : null;
      },
      30_000,
      500,
    );
    console.log('the callee echoes', echoed.shares);
  }, 180_000);

  it('b. an audio-only recording of a phone-only room holds both callers', async () => {
    for (const browser of browsers.splice(0)) await browser.close();
    const { file } = await recordFor({ audioOnly: true }, 8);
    const probed = await probe(file);
    expect(codecs(probed)).toEqual(['audio:aac']);
    expect(Number(probed.format.duration)).toBeGreaterThan(6);
    const audio = await audioOf(file, { from: 2, seconds: 4 });
    const shares = shareOf(audio.samples, audio.sampleRate, TONES);
    console.log('audio-only recording', shares);
    expect(shares.pinCaller).toBeGreaterThan(0.1);
    expect(shares.uriCaller).toBeGreaterThan(0.1);
    expect(shares.alice).toBeLessThan(0.02);
  }, 180_000);
}

export interface EdgeDeployment {
  webUrl: () => string;
  browserArgs: () => string[];
  sipHost: () => string;
  clients: () => TestHost;
  /** A host that cannot send UDP. */
  restricted: () => TestHost;
  /** A host behind a NAT. */
  natPhone: () => TestHost;
  /** Flows the NAT has translated so far. */
  natTranslations: () => Promise<number>;
}

/** Which transport protocol the page's receiving connection uses (its selected ICE candidate pair). */
function receivingProtocol(page: Page): Promise<string | undefined> {
  return page.evaluate(async () => {
    const consumer = [...window.conference!.remoteMedia.value.values()][0]?.consumer;
    if (!consumer) return undefined;
    const stats = await consumer.getStats();
    let protocol: string | undefined;
    stats.forEach((report: { type: string; state?: string; nominated?: boolean; localCandidateId?: string }) => {
      if (report.type !== 'candidate-pair' || report.state !== 'succeeded' || !report.nominated) return;
      protocol = (stats.get(report.localCandidateId!) as { protocol?: string } | undefined)?.protocol;
    });
    return protocol;
  });
}

/**
 * Users at the edges of the network, in a room of their own: a browser on a
 * network that drops UDP (it must come in over ICE-TCP on the worker's port),
 * a browser on an ordinary one, and a softphone behind a NAT (symmetric RTP).
 */
export function edgeJourneys(deployment: EdgeDeployment): void {
  const room = 'outpost';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'system-edge-'));
  const browsers: Browser[] = [];
  let phone: Baresip | undefined;
  const tones = { carol: TONES.alice, dave: TONES.bob, natCaller: TONES.pinCaller };
  type EdgeParty = keyof typeof tones;

  afterAll(async () => {
    await phone?.stop().catch(() => {});
    for (const browser of browsers) await browser.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function join(host: TestHost, name: string, frequency: number): Promise<Page> {
    const wav = path.join(dir, `${name}.wav`);
    writeToneWav(wav, frequency, 300, { sampleRate: 16000 });
    const browser = await launchBrowser({
      host,
      args: [`--use-file-for-fake-audio-capture=${wav}`, ...deployment.browserArgs()],
    });
    browsers.push(browser);
    const page = await browser.newPage();
    await joinThroughUi(page, `${deployment.webUrl()}/${room}?audioProcessing=off`, name);
    return page;
  }

  it('a browser whose UDP is blocked joins over ICE-TCP and sees and hears the others; a phone behind a NAT is heard and hears', async () => {
    const carol = await join(deployment.clients(), 'Carol', tones.carol);
    const dave = await join(deployment.restricted(), 'Dave', tones.dave);
    const natWav = path.join(dir, 'natCaller.wav');
    writeToneWav(natWav, tones.natCaller, 300);
    phone = await Baresip.start({ microphone: natWav, host: deployment.natPhone() });
    phone.dial(`sip:${room}@${deployment.sipHost()}:5060`);
    await phone.waitForEvent('CALL_ESTABLISHED');

    const hears = async (page: Page, who: string, expected: EdgeParty[]) => {
      const tracks = await waitFor(`${who} to hear ${expected.join(', ')}`, async () => {
        const heard = await heardTonesInPage(page, tones);
        const sources = heard.map((t) => dominant(t.shares)).filter(Boolean).sort();
        return JSON.stringify(sources) === JSON.stringify([...expected].sort()) ? heard : null;
      }, 30_000, 500);
      console.log(`${who} hears`, tracks.map((t) => `${t.kind} ${t.name}`).join(', '));
    };
    // Dave (no UDP) hears Carol and the phone behind the NAT; Carol hears both of them.
    await hears(dave, 'Dave (UDP blocked)', ['carol', 'natCaller']);
    await hears(carol, 'Carol', ['dave', 'natCaller']);
    await waitFor('Dave to decode Carol\'s video', async () => (await inboundStats(dave)).some((s) => s.kind === 'video' && s.framesDecoded > 30), 20_000, 500);
    expect(await receivingProtocol(dave)).toBe('tcp');
    expect(await receivingProtocol(carol)).toBe('udp');

    // The phone behind the NAT hears both browsers and not itself.
    const shares = await waitFor('the phone behind the NAT to hear Carol and Dave', () => {
      const { samples, sampleRate } = phone!.recentAudio(2);
      const share = shareOf(samples, sampleRate, tones);
      return share.carol > 0.1 && share.dave > 0.1 && share.natCaller < 0.02 ? share : null;
    }, 20_000, 500);
    console.log('the phone behind the NAT hears', shares);
    // Its SIP and RTP really went through the NAT (its own address is not routed to the others).
    expect(await deployment.natTranslations()).toBeGreaterThanOrEqual(2);
  }, 180_000);
}
