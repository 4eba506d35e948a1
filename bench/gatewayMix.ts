// What one phone leg costs the gateway's mixer, with K people talking in the
// room: every 20 ms, decode each speaker (Opus from browsers), mix N-1 for
// each leg, encode to G.711 and send over UDP (real PhoneRtp sockets, to a
// sink). Measured side by side against a second implementation that decodes
// every speaker once per leg (what a gateway without a shared room mix does),
// and against the shared mix with every leg SRTP (SDES): what encryption adds.
//
//   npm run bench:mix -- --speakers 3 --legs 50,100,200 --seconds 8
import { Encoder } from '@evan/opus';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { FRAME_SAMPLES } from '../media/codecs.ts';
import { MediaClock } from '../media/MediaClock.ts';
import { Mixer } from '../media/Mixer.ts';
import { PhoneRtp } from '../gateway/media/PhoneRtp.ts';
import { newSrtpKey } from '../gateway/media/sdes.ts';
import { PortPool } from '../media/PortPool.ts';
import { CODECS } from '../media/codecs.ts';
import { RtpSink } from './lib/sink.ts';

const { values } = parseArgs({
  options: {
    speakers: { type: 'string', default: '3' },
    legs: { type: 'string', default: '50,100,200' },
    seconds: { type: 'string', default: '8' },
  },
});
const SPEAKERS = Number(values.speakers);
const SECONDS = Number(values.seconds);
const log = pino({ level: 'silent' });

/** One second of 20 ms Opus packets per speaker (48 kHz, as browsers send), replayed in a loop. */
function speakerPackets(speaker: number): Buffer[] {
  const encoder = new Encoder({ channels: 1, sample_rate: 48000, application: 'voip' });
  const packets: Buffer[] = [];
  for (let frame = 0; frame < 50; frame++) {
    const pcm = new Int16Array(960);
    for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(6000 * Math.sin((2 * Math.PI * (300 + 100 * speaker) * (frame * 960 + i)) / 48000));
    packets.push(Buffer.from(encoder.encode(pcm)));
  }
  return packets;
}

async function run(legCount: number, shared: boolean, secure = false): Promise<{ cpu: number; sent: number; skipped: number }> {
  const sink = new RtpSink();
  const sinkPort = await sink.bind();
  const ports = new PortPool('127.0.0.1', 30000, 30000 + legCount * 2 + 10);
  const legs: PhoneRtp[] = [];
  for (let i = 0; i < legCount; i++) {
    const remote = { address: '127.0.0.1', port: sinkPort, rtcpPort: sinkPort, codec: CODECS.PCMU, telephoneEventPayloadType: 101, direction: 'sendrecv' as const, profile: secure ? 'RTP/SAVP' : 'RTP/AVP', srtp: secure ? { tag: 1, key: newSrtpKey() } : undefined };
    legs.push(new PhoneRtp(await ports.open(), remote, `bench-${i}`, newSrtpKey()));
  }
  // Shared: one mixer for the room. Per leg: every leg decodes every speaker itself.
  const mixers = shared ? [new Mixer()] : legs.map(() => new Mixer());
  const packets = Array.from({ length: SPEAKERS }, (_, s) => speakerPackets(s));
  for (const mixer of mixers) for (let s = 0; s < SPEAKERS; s++) mixer.addSource(s + 1, `speaker-${s}`, 'opus');
  let sequence = 0;
  const out = new Int16Array(FRAME_SAMPLES);
  const clock = new MediaClock((error) => log.error(error));
  const stop = clock.add(() => {
    for (const mixer of mixers) {
      for (let s = 0; s < SPEAKERS; s++) mixer.push(s + 1, sequence & 0xffff, packets[s]![sequence % 50]!);
      mixer.mix();
    }
    sequence++;
    legs.forEach((leg, i) => leg.sendFrame(mixers[shared ? 0 : i]!.mixMinus(undefined, out)));
  });
  await new Promise((resolve) => setTimeout(resolve, 1000)); // warm-up
  sink.begin();
  const before = process.cpuUsage();
  const skippedBefore = clock.skipped;
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const used = process.cpuUsage(before);
  const { packets: received } = sink.end();
  const skipped = clock.skipped - skippedBefore;
  stop();
  for (const leg of legs) {
    leg.close();
    ports.release(leg.pair);
  }
  sink.close();
  return { cpu: (used.user + used.system) / 1e6 / SECONDS, sent: received / SECONDS, skipped };
}

const idle = await run(0, true);
console.log(`K=${SPEAKERS} speakers (Opus 48 kHz in), legs get PCMU; ${SECONDS} s per run; CPU as a share of one core, Node process`);
console.log(`baseline (clock + ${SPEAKERS} decodes, no legs): ${(idle.cpu * 100).toFixed(1)}%`);
console.log('legs | shared mix: CPU  per leg  pkt/s  skipped | per-leg decode: CPU  per leg | ratio | shared mix, SRTP: CPU  per leg  pkt/s | ratio');
for (const n of values.legs.split(',').map(Number)) {
  const shared = await run(n, true);
  const naive = await run(n, false);
  const secure = await run(n, true, true);
  const perLeg = (r: { cpu: number }) => ((r.cpu - idle.cpu) / n) * 100;
  console.log(
    `${String(n).padStart(4)} | ${(shared.cpu * 100).toFixed(1).padStart(6)}% ${perLeg(shared).toFixed(3).padStart(7)}% ${shared.sent.toFixed(0).padStart(6)} ${String(shared.skipped).padStart(7)} | ${(naive.cpu * 100).toFixed(1).padStart(6)}% ${perLeg(naive).toFixed(3).padStart(7)}% | x${(naive.cpu / shared.cpu).toFixed(2)} | ${(secure.cpu * 100).toFixed(1).padStart(6)}% ${perLeg(secure).toFixed(3).padStart(7)}% ${secure.sent.toFixed(0).padStart(6)} | x${(perLeg(secure) / perLeg(shared)).toFixed(2)} per leg`,
  );
}
