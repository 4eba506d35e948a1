// What one cascade hop adds to a packet's trip (issue 17): the same packets
// received through one bridge and through two, side by side in one run.
//
// Two bridges (bridge/main.ts on test hosts of their own, regions a and b,
// MEDIA_WORKERS=1) and a redis-server, as BridgeFleet starts them; this
// process is on their network (the runner's address) and holds every socket,
// so all times are on one clock. A `phone` peer (visible, so its producer is
// piped to the room's other bridges; a `service` peer's is not) joins through
// A, the room's home, and sends Opus-sized audio packets over a plain
// transport, each numbered in its payload. Two plain-RTP receivers consume
// it: one on A (no hop), one joining through B with `region: 'b'`, served by
// B as A's satellite (A -> PipeTransport -> B), each read on a thread of its
// own (ArrivalLog). For each packet both got, the hop's cost is its arrival
// on B minus its arrival on A; send -> arrival on each path, and loss on
// each, are printed beside it.
//
// The network is Linux namespaces on one machine (no wire, no WAN): what the
// hop adds here is the bridges' own forwarding (B's worker, a second SRTP
// encryption and decryption, a UDP hop between namespaces), not distance.
//
//   npm run bench:cascade -- --packets 3000 --interval-ms 20
import { parseArgs } from 'node:util';
import { BridgeFleet } from '../test/helpers/bridgeFleet.ts';
import { joinRoom, type Joined } from '../test/helpers/signaling.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { ArrivalLog, IndexedRtpSender } from './lib/indexedRtp.ts';
import { percentile } from './lib/stats.ts';
import { AUDIO_RTP_PARAMETERS } from './lib/syntheticMedia.ts';

const { values } = parseArgs({
  options: {
    packets: { type: 'string', default: '3000' },
    'interval-ms': { type: 'string', default: '20' },
  },
});
const PACKETS = Number(values.packets);
const INTERVAL_MS = Number(values['interval-ms']);
/** Packets sent once both paths deliver, before the measured window (each path's first packets, its consumer settling). */
const SETTLE_PACKETS = Math.ceil(1000 / INTERVAL_MS);
/** Packets sent after the window, so each of the window's had this long to arrive. */
const GRACE_PACKETS = Math.ceil(1000 / INTERVAL_MS);
const ROOM = 'cascade-hop';
const SSRC = 4242;
const BRIDGES = ['a', 'b'] as const;
type BridgeName = (typeof BRIDGES)[number];

const fleet = await BridgeFleet.start({ id: 'hop', subnet: '198.18.33', names: BRIDGES, env: (name) => ({ BRIDGE_REGION: name }) });
const here = fleet.network.runnerAddress;
const sender = new IndexedRtpSender();
const logs: ArrivalLog[] = [];
const peers: Joined[] = [];

/** A service peer (a `phone` or a `service`, by the service secret) joining through `through`, and the bridge that served it. */
async function join(through: BridgeName, name: string, kind: 'phone' | 'service', region?: string): Promise<Joined & { landedOn: BridgeName }> {
  const peer = await joinRoom(fleet.httpUrl(through), ROOM, name, kind, region ? { region } : {});
  peers.push(peer);
  return { ...peer, landedOn: fleet.bridgeAt(peer.client.url) };
}

/** A gauge of a bridge's /metrics, its labels as written there. */
async function metric(bridge: BridgeName, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${fleet.httpUrl(bridge)}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

/** A plain-RTP receiver joining through `through` and consuming the producer into an ArrivalLog here; checks where it landed. */
async function receiver(through: BridgeName, producerId: string, region?: string): Promise<ArrivalLog> {
  const peer = await join(through, `Receiver via ${through}`, 'service', region);
  if (peer.landedOn !== through) throw new Error(`the receiver joining through ${through} was served by ${peer.landedOn}`);
  const { log, port } = await ArrivalLog.start(here);
  logs.push(log);
  const transport = await peer.client.request('createPlainTransport', { comedia: false, rtcpMux: true });
  await peer.client.request('connectPlainTransport', { transportId: transport.id, ip: here, port });
  // On a satellite the producer is piped in once the link is open, a moment after the join's answer.
  await waitFor(`the sender's producer to be consumable on ${through}`, () =>
    peer.client.request('consume', { transportId: transport.id, producerId, rtpCapabilities: peer.joined.routerRtpCapabilities }), 10_000, 100);
  return log;
}

interface Path {
  name: string;
  /** ms, per packet of the window that arrived. */
  samples: number[];
  lost: number;
}

let paths: Path[];
try {
  const phone = await join('a', 'Sender', 'phone');
  if (phone.landedOn !== 'a' || (await fleet.homeOf(ROOM)) !== 'a') throw new Error('the room was not placed on A, the bridge it was opened through');
  const transport = await phone.client.request('createPlainTransport', { comedia: true, rtcpMux: true });
  const { producerId } = await phone.client.request('produce', { transportId: transport.id, kind: 'audio', source: 'mic', rtpParameters: AUDIO_RTP_PARAMETERS(SSRC) });
  await sender.bind(here);
  sender.start({ ip: transport.ip, port: transport.port }, SSRC, INTERVAL_MS);

  const direct = await receiver('a', producerId);
  const hopped = await receiver('b', producerId, 'b');
  // The hop is real: B serves the room linked to A, the producer piped in once.
  const piped = { links: await metric('b', 'bridge_cascade_links'), in: await metric('b', 'bridge_cascade_piped_producers', '{direction="in"}') };
  if (piped.links !== 1 || piped.in !== 1) throw new Error(`B does not serve the room as A's satellite: ${JSON.stringify(piped)}`);

  await waitFor('both receivers to get packets', () => direct.arrivedAt.size > 0 && hopped.arrivedAt.size > 0, 10_000, 50);
  const first = sender.sent + SETTLE_PACKETS;
  const end = first + PACKETS;
  await waitFor(`${PACKETS} packets to be sent`, () => sender.sent >= end + GRACE_PACKETS, (SETTLE_PACKETS + PACKETS + GRACE_PACKETS) * INTERVAL_MS + 10_000, 200);

  const window = Array.from({ length: PACKETS }, (_, i) => first + i);
  const pathOf = (name: string, arrival: (index: number) => number | undefined, from: (index: number) => number | undefined): Path => {
    const samples: number[] = [];
    for (const index of window) {
      const [to, since] = [arrival(index), from(index)];
      if (to !== undefined && since !== undefined) samples.push(to - since);
    }
    return { name, samples, lost: window.filter((index) => arrival(index) === undefined).length };
  };
  const sentAt = (index: number) => sender.sentAt[index];
  paths = [
    pathOf('one bridge: send -> A', (i) => direct.arrivedAt.get(i), sentAt),
    pathOf('two bridges: send -> A -> B', (i) => hopped.arrivedAt.get(i), sentAt),
    // Packets both got; its loss column is packets either lost.
    pathOf('the hop: arrival on B - on A', (i) => (direct.arrivedAt.has(i) ? hopped.arrivedAt.get(i) : undefined), (i) => direct.arrivedAt.get(i)),
  ];
} finally {
  sender.close();
  for (const log of logs) await log.close();
  for (const peer of peers) peer.client.close();
  await fleet.stop();
}

const stats = (samples: number[]) => ({
  p50: percentile(samples, 50),
  p95: percentile(samples, 95),
  p99: percentile(samples, 99),
  max: Math.max(...samples),
});
const ms = (n: number) => n.toFixed(3).padStart(8);
console.log(`\nCascade hop: ${PACKETS} Opus-sized packets, one every ${INTERVAL_MS} ms, from a plain-RTP phone peer on A (the room's home)`);
console.log(`${'path'.padEnd(30)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'max ms'.padStart(8)}  lost (of ${PACKETS})`);
for (const path of paths) {
  const s = stats(path.samples);
  console.log(`${path.name.padEnd(30)} ${ms(s.p50)} ${ms(s.p95)} ${ms(s.p99)} ${ms(s.max)}  ${path.lost} (${((path.lost / PACKETS) * 100).toFixed(2)}%)`);
}
const [one, two] = paths.map((path) => stats(path.samples));
console.log(
  `two bridges vs one (send -> arrival): ` +
    (['p50', 'p95', 'p99'] as const).map((p) => `${p} +${(two![p] - one![p]).toFixed(3)} ms x${(two![p] / one![p]).toFixed(2)}`).join(', '),
);
process.exit(0);
