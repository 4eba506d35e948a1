// Hostile SIP absorbed per core by the running gateway, with the edge limits
// on (shipped defaults) and off (limits so high they never trigger), side by
// side in one run: two gateway processes (gateway/main.ts) against one bridge,
// sent the same mix of malformed and hostile messages (test/helpers/sipAbuse.ts)
// in alternating rounds so both see the same machine load. A round's cost is
// the gateway's CPU time (utime + stime from /proc/<pid>/stat) from before its
// first message until the probe sent after its last is answered and the
// process has gone quiet (a round of one mix also carries some retransmission
// timers of the round before; the totals wait for every timer to run out);
// messages the kernel dropped (the socket's receive
// buffer full) are counted from /proc/<pid>/net/udp and not credited.
//
//   npm run bench:abuse -- --rounds 6 --udp 3000 --tcp 100
import { parseArgs } from 'node:util';
import { startBridge, TEST_SERVICE_SECRET } from '../test/helpers/bridge.ts';
import { freePort, freePortRange } from '../test/helpers/ports.ts';
import { ServiceProcess } from '../test/helpers/service.ts';
import { HOSTILE_KINDS, HostileTraffic, udpDrops, type HostileKind } from '../test/helpers/sipAbuse.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { cpuSeconds } from './lib/procStat.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '6' },
    /** Datagrams per UDP round. */
    udp: { type: 'string', default: '3000' },
    /** Connections per TCP round (four messages each). */
    tcp: { type: 'string', default: '100' },
  },
});
const ROUNDS = Number(values.rounds);
const UDP_MESSAGES = Number(values.udp);
const TCP_CONNECTIONS = Number(values.tcp);
/** Timer B/F/H/J: how long a transaction (and the retransmission of an unACKed answer) lives, with a margin. */
const TIMERS_SECONDS = 34;
/** Datagrams sent before waiting for the gateway to take them in: within its 1 MiB receive buffer most of the time. */
const WINDOW = 100;

/** The limits "off": each at the highest value the configuration accepts, far beyond what one source sends here. */
const LIMITS_OFF = {
  SIP_INVITES_PER_SECOND_PER_SOURCE: '10000',
  SIP_REGISTERS_PER_SECOND_PER_SOURCE: '10000',
  SIP_OPTIONS_PER_SECOND_PER_SOURCE: '10000',
  SIP_TCP_CONNECTIONS_PER_SOURCE: '10000',
};

interface Gateway {
  name: string;
  process: ServiceProcess;
  traffic: HostileTraffic;
  sipPort: number;
}

/** Waits until the process has used under 20 ms of CPU in 250 ms (its media clock alone uses a little). */
async function quiet(pid: number): Promise<void> {
  let last = cpuSeconds(pid);
  await waitFor('the gateway quiet', async () => {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = cpuSeconds(pid);
    const idle = now - last < 0.02;
    last = now;
    return idle;
  }, 30_000, 0);
}

async function startGateway(name: string, bridgeUrl: string, env: Record<string, string>): Promise<Gateway> {
  const sipPort = await freePort();
  const rtpBase = await freePortRange(1000);
  const process_ = ServiceProcess.start(undefined, name, process.execPath, ['gateway/main.ts'], {
    BRIDGE_URL: bridgeUrl,
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    SIP_PORT: String(sipPort),
    DRACHTIO_PORT: String(await freePort()),
    // Room for the calls the INVITE flood opens at once when nothing limits it (each refused 488 at once).
    RTP_PORT_MIN: String(rtpBase),
    RTP_PORT_MAX: String(rtpBase + 999),
    ...env,
  });
  await process_.waitForLog('SIP gateway ready');
  return { name, process: process_, traffic: new HostileTraffic({ address: '127.0.0.1', port: sipPort }), sipPort };
}

interface Round {
  messages: number;
  dropped: number;
  cpu: number;
  wall: number;
}

/**
 * A UDP mix: `kinds` in turn from 8 flooding addresses, and every fifth datagram a REGISTER from
 * one of 250 addresses of its own (a new set each round).
 */
async function udpRound(gw: Gateway, kinds: HostileKind[], round: number): Promise<Round> {
  const pid = gw.process.pid;
  const cpu = cpuSeconds(pid);
  const drops = udpDrops(pid, gw.sipPort);
  const start = performance.now();
  for (let i = 0; i < UDP_MESSAGES; i++) {
    const register = i % 5 === 4;
    const kind: HostileKind = register ? 'register' : kinds[i % kinds.length]!;
    const source = register ? `127.1.${round % 250}.${1 + (i % 250)}` : `127.2.0.${1 + (i % 8)}`;
    await gw.traffic.udp(kind, source);
    if (i % WINDOW === WINDOW - 1) await gw.traffic.drained('127.9.0.1', 30_000);
  }
  await gw.traffic.drained('127.9.0.1', 30_000);
  const wall = (performance.now() - start) / 1000;
  await quiet(pid);
  return { messages: UDP_MESSAGES, dropped: udpDrops(pid, gw.sipPort) - drops, cpu: cpuSeconds(pid) - cpu, wall };
}

/** The abuse test's mix: every kind, the large ones (tens of KiB) included. */
const EVERY_KIND = HOSTILE_KINDS.filter((k) => k !== 'register');
/** A flood of small requests, as scanners and toll-fraud scripts send: where the rate limits act. */
const SMALL_REQUESTS: HostileKind[] = ['inviteFlood', 'byeNoDialog', 'reinviteNoDialog', 'cancelNoDialog', 'ackNoDialog', 'garbage', 'truncated', 'badContentLength'];
const MIXES = { 'every kind (UDP)': EVERY_KIND, 'small requests (UDP)': SMALL_REQUESTS } as const;

/** Connections from 10 addresses, 10 at a time, each with three framed messages and one that breaks the stream. */
async function tcpRound(gw: Gateway): Promise<Round> {
  const framed: HostileKind[] = ['headerFlood', 'byeNoDialog', 'register', 'longLine', 'reinviteNoDialog', 'cancelNoDialog', 'ackNoDialog', 'inviteFlood'];
  const breakers: HostileKind[] = ['garbage', 'oversized', 'badContentLength', 'truncated'];
  const pid = gw.process.pid;
  const cpu = cpuSeconds(pid);
  const before = gw.traffic.total;
  const start = performance.now();
  for (let c = 0; c < TCP_CONNECTIONS; c += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, TCP_CONNECTIONS - c) }, (_, k) => {
        const n = c + k;
        const kinds = [0, 1, 2].map((j) => framed[(n * 3 + j) % framed.length]!);
        return gw.traffic.tcp([...kinds, breakers[n % breakers.length]!], `127.3.0.${1 + k}`);
      }),
    );
  }
  const wall = (performance.now() - start) / 1000;
  await quiet(pid);
  return { messages: gw.traffic.total - before, dropped: 0, cpu: cpuSeconds(pid) - cpu, wall };
}

const bridge = await startBridge({ MEDIA_WORKERS: '1', LOG_LEVEL: 'warn' });
const gateways = [await startGateway('limits on', bridge.url, {}), await startGateway('limits off', bridge.url, LIMITS_OFF)];
type Mix = keyof typeof MIXES | 'every kind (TCP)';
const results = new Map<string, Map<Mix, Round[]>>(gateways.map((g) => [g.name, new Map()]));
const record = (gw: Gateway, mix: Mix, round: Round) => {
  const rounds = results.get(gw.name)!;
  rounds.set(mix, [...(rounds.get(mix) ?? []), round]);
};
/** Per gateway: CPU seconds a second when idle (its media clock), and over the measured rounds in all. */
const idle = new Map<string, number>();
const totals = new Map<string, { cpu: number; wall: number; messages: number }>();
try {
  // Warm-up: JIT, the app connection, the first transactions.
  for (const gw of gateways) {
    await udpRound(gw, EVERY_KIND, 0);
    await tcpRound(gw);
  }
  // The warm-up's retransmission timers (32 s) run out, then each gateway's idle cost is measured.
  await new Promise((resolve) => setTimeout(resolve, TIMERS_SECONDS * 1000));
  for (const gw of gateways) {
    const before = cpuSeconds(gw.process.pid);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    idle.set(gw.name, (cpuSeconds(gw.process.pid) - before) / 3);
  }
  const start = performance.now();
  const cpuAtStart = new Map(gateways.map((gw) => [gw.name, cpuSeconds(gw.process.pid)]));
  const sentAtStart = new Map(gateways.map((gw) => [gw.name, gw.traffic.total]));
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 === 0 ? gateways : [...gateways].reverse();
    for (const gw of order) {
      for (const [mix, kinds] of Object.entries(MIXES)) record(gw, mix as Mix, await udpRound(gw, kinds, round));
      record(gw, 'every kind (TCP)', await tcpRound(gw));
    }
  }
  // Every transaction's timers (retransmissions of unACKed answers included) run out before the totals.
  await new Promise((resolve) => setTimeout(resolve, TIMERS_SECONDS * 1000));
  const wall = (performance.now() - start) / 1000;
  for (const gw of gateways) {
    const cpu = cpuSeconds(gw.process.pid) - cpuAtStart.get(gw.name)! - idle.get(gw.name)! * wall;
    totals.set(gw.name, { cpu, wall, messages: gw.traffic.total - sentAtStart.get(gw.name)! });
  }
} finally {
  for (const gw of gateways) {
    gw.traffic.close();
    await gw.process.stop();
  }
  await bridge.stop();
}

/** Per round: messages taken in per CPU second of the gateway, and per wall second (sender included). */
const summary = (rounds: Round[]) => ({
  perCore: percentile(rounds.map((r) => (r.messages - r.dropped) / r.cpu), 50),
  perSecond: percentile(rounds.map((r) => (r.messages - r.dropped) / r.wall), 50),
  dropped: rounds.reduce((sum, r) => sum + r.dropped, 0),
  messages: rounds.reduce((sum, r) => sum + r.messages, 0),
});
console.log(`hostile SIP taken in by one gateway process, ${ROUNDS} rounds each (median round), ${UDP_MESSAGES} datagrams or ${TCP_CONNECTIONS} connections a round:`);
for (const mix of [...Object.keys(MIXES), 'every kind (TCP)'] as Mix[]) {
  const on = summary(results.get('limits on')!.get(mix)!);
  const off = summary(results.get('limits off')!.get(mix)!);
  console.log(`  ${mix}:`);
  console.log(`    limits on:  ${on.perCore.toFixed(0)} msg/s per core (${on.perSecond.toFixed(0)} msg/s wall, ${on.dropped}/${on.messages} dropped by the kernel)`);
  console.log(`    limits off: ${off.perCore.toFixed(0)} msg/s per core (${off.perSecond.toFixed(0)} msg/s wall, ${off.dropped}/${off.messages} dropped)  on/off x${(on.perCore / off.perCore).toFixed(2)}`);
}
console.log('  all rounds together, until every transaction timer ran out, idle cost taken off:');
for (const gw of gateways) {
  const total = totals.get(gw.name)!;
  console.log(
    `    ${gw.name}: ${(total.messages / total.cpu).toFixed(0)} msg/s per core (${total.messages} messages, ${total.cpu.toFixed(1)} CPU s over and above ${(idle.get(gw.name)! * 100).toFixed(1)}% idle)`,
  );
}
const responses = (gw: Gateway) => [...gw.traffic.responses].sort((x, y) => x[0] - y[0]).map(([status, count]) => `${status}:${count}`).join(' ');
for (const gw of gateways) console.log(`  responses from "${gw.name}" (retransmissions included): ${responses(gw)}`);
