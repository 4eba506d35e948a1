// The SIP gateway under abuse (issue 15, item 6): the real entry point
// (gateway/main.ts, shipped defaults but for the addresses of this machine)
// against a real bridge takes 10,000 malformed and hostile SIP messages over
// UDP and TCP, from many loopback addresses, while honest callers on another
// host (a network namespace, reaching the gateway at its address on the test
// switch) place 100 calls through the PIN prompt in batches, interleaved with
// the abuse. Every call must get in and be heard in the room, the process must
// stay up and answer, and its memory must stay within a bound.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge, TEST_SERVICE_SECRET } from '../helpers/bridge.ts';
import { TestNetwork, type TestHost } from '../helpers/hosts.ts';
import { freePort, freePortRange } from '../helpers/ports.ts';
import { ServiceProcess } from '../helpers/service.ts';
import { HOSTILE_KINDS, HostileTraffic, reinviteStorm, rssMiB, udpDrops, type HostileKind } from '../helpers/sipAbuse.ts';
import { runSipp } from '../helpers/sipp.ts';
import { bye, infoDigit, invite, optionsPing, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'board';
const BATCHES = 10;
const CALLS_PER_BATCH = 10;
/** Hostile messages per batch: 10 batches make the 10,000. */
const HOSTILE_PER_BATCH = 1000;
/**
 * How much of a header that never ends one connection streams before giving up: far past the
 * engine's 64 KiB bound, so a gateway that kept reading would hold it all.
 */
const ENDLESS_BYTES = 16 * 1024 * 1024;
/** A caller is heard once the bridge has counted this many of its packets (a second of voice). */
const HEARD_PACKETS = 50;
/**
 * The gateway's resident memory may not pass this. Measured on this machine (Node 24, 2 cores): 131
 * MiB once ready; peaks of 317 to 350 MiB over four runs, still climbing slowly at the end. Most of
 * that is V8 growing its heap between collections, not kept data: forcing full collections after
 * each batch (over the inspector, 30 batches) held the live heap at 75 to 90 MiB and the RSS under
 * 280 MiB. With header floods kept whole (the parser's header cap taken out) the peak was 499 MiB.
 */
const RSS_BOUND_MIB = 420;

describe('the SIP gateway under abuse', () => {
  let bridge: Bridge;
  let network: TestNetwork;
  let callers: TestHost;
  let gateway: ServiceProcess;
  let sipPort: number;
  let host: SignalingClient;
  /** The gateway's address for the honest callers (this machine's on the test switch). */
  let gatewayAddress: string;
  const rss: number[] = [];
  let rssTimer: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    bridge = await startBridge();
    network = await TestNetwork.create({ id: 'abuse', subnet: '198.18.15' });
    callers = await network.addHost('callers', 1);
    gatewayAddress = network.runnerAddress;
    sipPort = await freePort();
    const rtpBase = await freePortRange(200);
    // Shipped defaults (rate limits, block list, TCP caps and timeouts) but for where things are on
    // this machine, and the callers' host allowed to call in like a LAN phone (the test network's
    // addresses are not among the private ranges allowed by default).
    const defaults = loadGatewayConfig({}).inbound.allowedSources;
    gateway = ServiceProcess.start(undefined, 'gateway', process.execPath, ['gateway/main.ts'], {
      BRIDGE_URL: bridge.url,
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      SIP_PORT: String(sipPort),
      SIP_PUBLIC_ADDRESS: gatewayAddress,
      DRACHTIO_PORT: String(await freePort()),
      RTP_PUBLIC_ADDRESS: gatewayAddress,
      RTP_PORT_MIN: String(rtpBase),
      RTP_PORT_MAX: String(rtpBase + 199),
      SIP_ALLOWED_SOURCES: [...defaults, `${callers.address}/32`].join(','),
    });
    await gateway.waitForLog('SIP gateway ready');
    await waitFor('the gateway registered with the bridge', async () => {
      const health = (await (await fetch(`${bridge.url}/healthz`)).json()) as { sipGateways: unknown[] };
      return health.sipGateways.length === 1;
    }, 20_000);
    // Someone must be in the room for its PIN to exist.
    host = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    await host.request('join', { room: ROOM, displayName: 'Host' });
    rss.push(rssMiB(gateway.pid));
    rssTimer = setInterval(() => !gateway.exited && rss.push(rssMiB(gateway.pid)), 250);
  }, 60_000);

  afterAll(async () => {
    clearInterval(rssTimer);
    host?.close();
    await gateway?.stop();
    await network?.destroy();
    await bridge?.stop();
  });

  /** `calls` honest calls at once from the callers' host: the PIN by SIP INFO, then voice for a few seconds. */
  const honestCalls = async (calls: number) => {
    const pin = bridge.registry.get(ROOM)!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    return runSipp({
      scenario: writeScenario('abuse-honest', [invite(), ...digits, playAudio, pause(4000), bye(2 + digits.length)]),
      remote: `${gatewayAddress}:${sipPort}`,
      host: callers,
      localIp: callers.address,
      localPort: await freePort(),
      calls,
      // Within the INVITE limit's burst (5 a second, 10 at once) for one source: these are honest.
      rate: 5,
      timeoutSeconds: 60,
      args: ['-s', '15550100', '-l', String(calls), '-mp', String(await freePort())],
    });
  };

  /** Per batch, a TCP request whose header never ends: whether the gateway gave up on it, and how much it took first. */
  const endlessStreams: { gaveUp: boolean; written: number }[] = [];
  /**
   * Phone peers of the room heard so far (their producer's packet count at the bridge past
   * HEARD_PACKETS), by peer id. Polled while calls are up: a call's peer leaves with its BYE.
   */
  const heard = new Set<string>();
  const listenToRoom = () => {
    let stopped = false;
    const done = (async () => {
      while (!stopped) {
        const room = bridge.registry.get(ROOM);
        for (const peer of room?.peers ?? []) {
          if (peer.kind !== 'phone' || heard.has(peer.id)) continue;
          for (const producer of peer.producers.values()) {
            const stats = await producer.getStats().catch(() => []);
            if (stats.reduce((sum, s) => sum + s.packetCount, 0) >= HEARD_PACKETS) heard.add(peer.id);
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    return async () => {
      stopped = true;
      await done;
    };
  };

  /**
   * One batch's share of the abuse, spread over about six seconds: UDP from a few flooding
   * addresses (127.2.0.x) and REGISTERs each from an address of its own (127.1.b.x), TCP
   * connections from 127.3.0.x, and a re-INVITE storm in a hostile caller's own dialog (127.4.0.b).
   */
  const abuse = async (traffic: HostileTraffic, batch: number) => {
    const start = traffic.total;
    const owed = () => start + HOSTILE_PER_BATCH - traffic.total;
    const storm = reinviteStorm(traffic, `127.4.0.${batch + 1}`, 60);
    const endless = traffic.endlessHeader('127.3.0.11', ENDLESS_BYTES);
    const udpKinds = HOSTILE_KINDS.filter((k) => k !== 'register');
    const tcpKinds: HostileKind[] = ['headerFlood', 'byeNoDialog', 'register', 'longLine', 'reinviteNoDialog', 'cancelNoDialog', 'ackNoDialog', 'inviteFlood'];
    const breakers: HostileKind[] = ['garbage', 'oversized', 'badContentLength', 'truncated'];
    let i = 0;
    for (let chunk = 0; chunk < 40 && owed() > 0; chunk++) {
      const sends: Promise<void>[] = [];
      for (let j = 0; j < 14; j++, i++) sends.push(traffic.udp(udpKinds[i % udpKinds.length]!, `127.2.0.${1 + (i % 8)}`));
      for (let j = 0; j < 6; j++, i++) sends.push(traffic.udp('register', `127.1.${batch}.${1 + (i % 250)}`));
      // A TCP connection per chunk: framed messages, then one that breaks the stream.
      const framed = Array.from({ length: 3 }, (_, k) => tcpKinds[(chunk * 3 + k) % tcpKinds.length]!);
      sends.push(traffic.tcp([...framed, breakers[chunk % breakers.length]!], `127.3.0.${1 + (chunk % 10)}`));
      await Promise.all(sends);
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    await storm;
    endlessStreams.push(await endless);
    // Made up to the batch's share with garbage, as fast as it goes.
    while (owed() > 0) await traffic.udp('garbage', `127.2.0.${1 + (i++ % 8)}`);
  };

  it('takes 10,000 hostile messages over UDP and TCP while 100 honest calls get in and are heard', async () => {
    const traffic = new HostileTraffic({ address: '127.0.0.1', port: sipPort });
    const stopListening = listenToRoom();
    const batches: { ok: number; failed: number; heard: number; seconds: number; rssMiB: number }[] = [];
    const started = Date.now();
    try {
      for (let batch = 0; batch < BATCHES; batch++) {
        const heardBefore = heard.size;
        const batchStart = Date.now();
        const [result] = await Promise.all([honestCalls(CALLS_PER_BATCH), abuse(traffic, batch)]);
        // The last calls' peers may still be polled: wait for this batch's callers to be heard.
        await waitFor(`batch ${batch}'s callers heard`, () => heard.size - heardBefore >= CALLS_PER_BATCH, 5000).catch(() => {});
        batches.push({ ok: result.successful, failed: result.failed, heard: heard.size - heardBefore, seconds: (Date.now() - batchStart) / 1000, rssMiB: rss.at(-1)! });
        expect(result.code, result.stdout.slice(-3000)).toBe(0);
        expect(result.successful).toBe(CALLS_PER_BATCH);
        expect(heard.size - heardBefore, `batch ${batch}: callers heard in the room`).toBe(CALLS_PER_BATCH);
        expect(gateway.exited, 'the gateway process is up').toBe(false);
      }
      await traffic.drained('127.2.0.1');
    } finally {
      await stopListening();
      traffic.close();
      const sent = Object.fromEntries([...traffic.sent].sort());
      const responses = Object.fromEntries([...traffic.responses].sort((a, b) => a[0] - b[0]));
      const endless = endlessStreams.map((e) => `${e.gaveUp ? 'refused' : 'NOT REFUSED'} after ${(e.written / 1024).toFixed(0)} KiB`);
      console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000, hostile: traffic.total, sent, responses, endless, batches, heard: heard.size, rssMiB: { first: rss[0], peak: Math.max(...rss), last: rss.at(-1), samples: rss.length } }, null, 1));
    }
    expect(traffic.total).toBeGreaterThanOrEqual(BATCHES * HOSTILE_PER_BATCH);
    // Every UDP message that can be answered was, as it should be (each once, retransmissions aside): 400 for
    // the malformed with a readable Via, 481 for requests of no dialog, 503 for floods over their rate or
    // methods nobody serves, 488 for an INVITE's unusable SDP. A parse that threw would leave some unanswered.
    const expected: [HostileKind, number[]][] = [
      ['badContentLength', [400]],
      ['headerFlood', [400]],
      ['byeNoDialog', [481]],
      ['reinviteNoDialog', [481]],
      ['cancelNoDialog', [481]],
      ['register', [503]],
      ['oversized', [503]],
      ['inviteFlood', [488, 503]],
      ['longLine', [200, 503]],
    ];
    expect(udpDrops(gateway.pid, sipPort), 'datagrams the kernel dropped at the gateway (sent faster than it took them in)').toBe(0);
    for (const [kind, statuses] of expected) {
      expect(traffic.answered(kind, ...statuses), `${kind} over UDP answered ${statuses.join(' or ')}`).toBe(traffic.count(kind, 'udp'));
    }
    expect(traffic.answeredAtAll('ackNoDialog'), 'an ACK is never answered').toBe(0);
    // The endless headers: each refused by the gateway (a 400, its side closed) long before the sender gave up.
    expect(endlessStreams).toHaveLength(BATCHES);
    for (const stream of endlessStreams) expect(stream, 'an endless header refused by the gateway').toMatchObject({ gaveUp: true });
    expect(heard.size).toBe(BATCHES * CALLS_PER_BATCH);
    // Answered as they should be: 400 for the malformed, 481 for requests of no dialog, 503 for floods over their rate.
    for (const status of [400, 481, 503]) expect(traffic.responses.get(status) ?? 0, `responses ${status}`).toBeGreaterThan(100);

    // Still up, and still answering a trunk's OPTIONS ping from the callers' host.
    const ping = await runSipp({
      scenario: writeScenario('abuse-ping', [optionsPing()]),
      remote: `${gatewayAddress}:${sipPort}`,
      host: callers,
      localIp: callers.address,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 10,
    });
    expect(ping.code, ping.stdout.slice(-2000)).toBe(0);
    expect(gateway.exited).toBe(false);
    expect(Math.max(...rss), `the gateway's RSS (MiB), sampled ${rss.length} times`).toBeLessThan(RSS_BOUND_MIB);
  }, 170_000);
});
