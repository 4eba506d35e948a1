// What end-to-end encryption costs per encoded frame, in Node's WebCrypto
// (the browser's Worker runs the same module): each frame encrypted by the
// sender and decrypted by a receiver, one after another as an encoded-frame
// transform takes them, beside a plain copy of the frame (what a pass-through
// transform does anyway). Alternating rounds, so both see the same machine load.
//
//   node bench/e2eeFrames.ts --frames 5000 --rounds 5
import { parseArgs } from 'node:util';
import type { Bytes } from '../web/src/e2ee/bytes.ts';
import type { FrameCodec } from '../web/src/e2ee/FrameCipher.ts';
import { type CipherSuite, CIPHER_SUITES } from '../web/src/e2ee/frameKeys.ts';
import { KeyRing } from '../web/src/e2ee/KeyRing.ts';
import { SenderKeys } from '../web/src/e2ee/SenderKeys.ts';
import { percentile } from './lib/stats.ts';

const { values } = parseArgs({
  options: {
    frames: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '5' },
  },
});
const FRAMES = Number(values.frames);
const ROUNDS = Number(values.rounds);

/** A VP8 delta frame of 1,200 bytes (a 720p frame's share of one packet) and a 20 ms Opus frame at 32 kb/s. */
const KINDS: { name: string; codec: FrameCodec; frame: Bytes }[] = [
  { name: 'VP8 1,200 B', codec: 'vp8', frame: crypto.getRandomValues(new Uint8Array(1200)).fill(0x31, 0, 1) },
  { name: 'Opus 80 B', codec: 'opus', frame: crypto.getRandomValues(new Uint8Array(80)) },
];

async function framesPerSecond(run: () => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < FRAMES; i++) await run();
  return FRAMES / ((performance.now() - started) / 1000);
}

console.log(`${FRAMES} frames a round, ${ROUNDS} rounds; median (and worst) round, frames/s`);
console.log('| frames | suite | encrypt + decrypt | plain copy |');
console.log('|---|---|---|---|');
for (const { name, codec, frame } of KINDS) {
  for (const suite of Object.keys(CIPHER_SUITES) as CipherSuite[]) {
    const sender = await SenderKeys.create(suite);
    const receiver = new KeyRing(suite);
    await receiver.setKey(sender.current);
    const e2ee: number[] = [];
    const copy: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      e2ee.push(
        await framesPerSecond(async () => {
          const opened = await receiver.decrypt(await sender.encrypt(frame, codec), codec);
          if (!opened.ok) throw new Error(`frame not decrypted: ${opened.failure}`);
        }),
      );
      copy.push(await framesPerSecond(async () => void (await Promise.resolve(frame.slice()))));
    }
    const show = (samples: number[]) => `${Math.round(percentile(samples, 50))} (${Math.round(Math.min(...samples))})`;
    console.log(`| ${name} | ${suite} | ${show(e2ee)} | ${show(copy)} |`);
  }
}
