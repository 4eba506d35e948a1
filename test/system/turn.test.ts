// TURN for networks that allow nothing but TCP 443. Test hosts: the bridge
// (bridge/main.ts with compose's environment), an edge host running real
// coturn (use-auth-secret, TURN over TCP and TLS on 443) and, at a second
// address, a TCP forwarder of port 443 to the bridge's HTTPS (as an edge
// proxy would), an ordinary client host, and a restricted one whose firewall
// lets out only TCP to port 443 of the edge host: no UDP, nothing to the
// bridge. A Chromium on each joins one room. Without TURN the restricted one
// gets no media; with it, both see and hear each other (distinct tones), and
// the restricted one's media goes through a relay allocated by coturn under
// its own credentials. The relay refuses to reach anything but the bridge.
import crypto from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TurnCredentials } from '../../bridge/auth/TurnCredentials.ts';
import { spkiSha256 } from '../../protocol/bridgeTrust.ts';
import { windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { joinThroughUi, keepPeerConnections, launchBrowser, receivedAudio, seesAndHears } from '../helpers/browser.ts';
import { composeEnvironment } from '../helpers/compose.ts';
import { Coturn } from '../helpers/coturn.ts';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { TestCa } from '../helpers/testCa.ts';
import { waitFor } from '../helpers/wait.ts';

const SUBNET = '198.18.9';
const TURN_SECRET = 'system-test-turn-secret-0123456789';
/** Each one's microphone plays its own tone, so who hears whom is told apart. */
const TONES = { open: 500, restricted: 700 };

/** The only way out of `host`: TCP to port 443 of the given addresses (loopback aside). */
async function allowOnlyTcp443(host: TestHost, addresses: string[]): Promise<void> {
  await host.exec('nft', ['add', 'table', 'inet', 'firewall']);
  await host.exec('nft', ['add chain inet firewall out { type filter hook output priority 0; policy drop; }']);
  await host.exec('nft', ['add rule inet firewall out oifname "lo" accept']);
  await host.exec('nft', [`add rule inet firewall out ip daddr { ${addresses.join(', ')} } tcp dport 443 accept`]);
}

/** Forwards TCP `listen` (address:port) to `target` (address:port), on `host`: TLS passes through untouched. */
function startForwarder(host: TestHost, listen: [string, number], target: [string, number]): ChildProcess {
  const script = `const net = require('node:net');
net.createServer((client) => {
  const upstream = net.connect(${target[1]}, '${target[0]}');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(${listen[1]}, '${listen[0]}');`;
  return host.spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The local candidate of the page's selected ICE pair for receiving (what its media really goes over). */
function receivingCandidate(page: Page): Promise<{ candidateType?: string; protocol?: string; relayProtocol?: string; address?: string } | undefined> {
  return page.evaluate(async () => {
    const consumer = [...window.conference!.remoteMedia.value.values()][0]?.consumer;
    if (!consumer) return undefined;
    const stats = await consumer.getStats();
    let candidate: { candidateType?: string; protocol?: string; relayProtocol?: string; address?: string } | undefined;
    stats.forEach((report: { type: string; state?: string; nominated?: boolean; localCandidateId?: string }) => {
      if (report.type !== 'candidate-pair' || report.state !== 'succeeded' || !report.nominated) return;
      const local = stats.get(report.localCandidateId!) as typeof candidate;
      candidate = { candidateType: local?.candidateType, protocol: local?.protocol, relayProtocol: local?.relayProtocol, address: local?.address };
    });
    return candidate;
  });
}

/** Waits until `viewer` decodes `frequency` as nearly all of what `peerId` sends it. */
async function hearsTone(viewer: Page, peerId: string, frequency: number, what: string): Promise<void> {
  await waitFor(what, async () => {
    const { samples, sampleRate } = await receivedAudio(viewer, peerId);
    return samples.length > 0 && windowedToneShare(samples, sampleRate, frequency) > 0.8;
  }, 20_000, 0);
}

const selfId = (page: Page) => page.evaluate(() => window.conference!.selfId.value!);

describe('TURN: a browser on a network that lets out only TCP 443', () => {
  let network: TestNetwork;
  const hosts: Record<'bridge' | 'edge' | 'open' | 'restricted', TestHost> = {} as never;
  /** The edge host's second address: the forwarder to the bridge's HTTPS. */
  const front = `${SUBNET}.3`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'turn-system-'));
  let bridgeCertificate: { cert: string; key: string };
  /** What the browsers pin to trust the bridge's and coturn's certificates, as users who accepted them would. */
  let trustedSpkis: string[];
  let coturn: Coturn;
  let forwarder: ChildProcess;
  let bridge: ServiceProcess | undefined;
  let browsers: Browser[] = [];

  beforeAll(async () => {
    network = await TestNetwork.create({ id: 'turn', subnet: SUBNET });
    for (const [name, last] of [['bridge', 1], ['edge', 2], ['open', 10], ['restricted', 11]] as const) {
      hosts[name] = await network.addHost(name, last);
    }
    await hosts.edge.exec('ip', ['addr', 'add', `${front}/24`, 'dev', 'eth0']);
    await allowOnlyTcp443(hosts.restricted, [hosts.edge.address, front]);

    const ca = await TestCa.create(path.join(dir, 'ca'), 'TURN Test CA');
    bridgeCertificate = await ca.issue(hosts.bridge.address);
    const edgeCertificate = await ca.issue(hosts.edge.address);
    trustedSpkis = [bridgeCertificate, edgeCertificate].map(({ cert }) => spkiSha256(new crypto.X509Certificate(fs.readFileSync(cert))));
    coturn = await Coturn.start({
      host: hosts.edge,
      secret: TURN_SECRET,
      cert: edgeCertificate,
      allowedPeer: hosts.bridge.address,
      dir,
    });
    forwarder = startForwarder(hosts.edge, [front, 443], [hosts.bridge.address, 8443]);
    await waitFor('the forwarder listening', async () => (await hosts.edge.exec('ss', ['-H', '-ltn', `src ${front}:443`])).trim() !== '', 10_000, 100);
  }, 60_000);

  afterEach(async () => {
    for (const browser of browsers) await browser.close().catch(() => {});
    browsers = [];
    await bridge?.stop();
    bridge = undefined;
  });

  afterAll(async () => {
    await coturn?.stop();
    if (forwarder?.pid !== undefined && forwarder.exitCode === null) forwarder.kill('SIGTERM');
    await network?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** bridge/main.ts on the bridge host, as docker-compose.yml runs it, with `turn` given or not. */
  async function startBridge(turn: Record<string, string>): Promise<void> {
    const environment = composeEnvironment('bridge', {
      SERVICE_SECRET: 'turn-system-service-secret',
      TLS_CERT: bridgeCertificate.cert,
      TLS_KEY: bridgeCertificate.key,
      ...turn,
    });
    bridge = ServiceProcess.start(hosts.bridge, 'bridge', process.execPath, ['bridge/main.ts'], {
      ...environment,
      // No recording here: compose's Redis is not on this network.
      REDIS_URL: '',
      MEDIA_WORKERS: '1',
      TLS_DIR: path.join(dir, 'bridge-tls'),
      API_KEYS_FILE: path.join(dir, 'api-key.json'),
      RECORDINGS_DIR: path.join(dir, 'recordings'),
    });
    await bridge.waitForLog('bridge ready');
  }

  /** A Chromium on `host` whose microphone plays `tone`, joined to the room at `url`. */
  async function join(host: TestHost, url: string, name: string, tone: number): Promise<Page> {
    const wav = path.join(dir, `${name}.wav`);
    writeToneWav(wav, tone, 120, { sampleRate: 16000 });
    const browser = await launchBrowser({
      host,
      args: [`--use-file-for-fake-audio-capture=${wav}`, `--ignore-certificate-errors-spki-list=${trustedSpkis.join(',')}`],
    });
    browsers.push(browser);
    const page = await browser.newPage();
    await keepPeerConnections(page);
    await joinThroughUi(page, `${url}?audioProcessing=off`, name);
    return page;
  }

  const openUrl = (room: string) => `https://${hosts.bridge.address}:8443/${room}`;
  // Through the edge's port 443, the one way the restricted host has to the bridge's signaling.
  const restrictedUrl = (room: string) => `https://${front}/${room}`;

  it('control: without TURN, the restricted browser joins but gets no media', async () => {
    await startBridge({});
    const open = await join(hosts.open, openUrl('no-turn'), 'Open', TONES.open);
    const restricted = await join(hosts.restricted, restrictedUrl('no-turn'), 'Restricted', TONES.restricted);
    const problem = await waitFor('the restricted browser to say media cannot connect', () =>
      restricted.evaluate(() => window.conference!.mediaProblem.value), 15_000, 200);
    console.log('without TURN, the restricted browser says:', problem);
    // It tried candidate pairs, and none worked: no media path at all.
    const pairs = await restricted.evaluate(async () => {
      const states: string[] = [];
      for (const pc of (window as unknown as { keptPeerConnections: RTCPeerConnection[] }).keptPeerConnections) {
        (await pc.getStats()).forEach((s: { type: string; state?: string }) => s.type === 'candidate-pair' && states.push(s.state!));
      }
      return states;
    });
    expect(pairs.length).toBeGreaterThan(0);
    expect(pairs).not.toContain('succeeded');
    // The open one is fine: the bridge itself works.
    expect(await open.evaluate(() => window.conference!.mediaProblem.value)).toBeNull();
  }, 40_000);

  it('with TURN over TCP 443, the restricted browser sees and hears the other through coturn, and is seen and heard', async () => {
    await startBridge({
      TURN_URLS: `turn:${hosts.edge.address}:443?transport=tcp,turns:${hosts.edge.address}:443?transport=tcp`,
      TURN_SECRET,
    });
    const open = await join(hosts.open, openUrl('turn'), 'Open', TONES.open);
    const restricted = await join(hosts.restricted, restrictedUrl('turn'), 'Restricted', TONES.restricted);
    const [openId, restrictedId] = [await selfId(open), await selfId(restricted)];

    await seesAndHears(restricted, openId, 'the restricted browser to see and hear the open one');
    await seesAndHears(open, restrictedId, 'the open browser to see and hear the restricted one');
    await hearsTone(restricted, openId, TONES.open, 'the restricted browser to hear the open one\'s tone');
    await hearsTone(open, restrictedId, TONES.restricted, 'the open browser to hear the restricted one\'s tone');

    const candidate = await receivingCandidate(restricted);
    console.log('the restricted browser receives over', candidate, '; coturn allocations:', coturn.allocations());
    expect(candidate).toMatchObject({ candidateType: 'relay', address: hosts.edge.address });
    expect(['tcp', 'tls']).toContain(candidate!.relayProtocol);
    // coturn granted it allocations under its own credentials (username <expiry>:<peer id>), over
    // both its ways in on port 443: TURN over TCP (the one in use, above) and over TLS.
    const itsOwn = coturn.allocations().filter(({ username }) => username.endsWith(`:${restrictedId}`));
    expect(itsOwn.some(({ tls }) => !tls)).toBe(true);
    expect(itsOwn.some(({ tls }) => tls)).toBe(true);
    expect(await receivingCandidate(open)).toMatchObject({ candidateType: 'host' });
  }, 60_000);

  it('the relay reaches the bridge and nothing else: another peer is refused (403 Forbidden IP)', async () => {
    // A client with good credentials (made as the bridge makes them) asks coturn, from the restricted host, to relay to the open host.
    const [server] = new TurnCredentials({ urls: [], secret: TURN_SECRET, ttlSeconds: 60 }).issue('relay-probe');
    const output = await hosts.restricted
      .exec('turnutils_uclient', ['-t', '-p', '443', '-u', server!.username, '-w', server!.credential, '-e', hosts.open.address, '-n', '1', hosts.edge.address])
      .catch((error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ''}${error.stderr ?? ''}`);
    await waitFor('the probe’s allocation in coturn’s log', () => coturn.allocations().some(({ username }) => username === server!.username), 5_000, 100);
    expect(output).toMatch(/403 \(Forbidden IP\)/);
  }, 20_000);
});
