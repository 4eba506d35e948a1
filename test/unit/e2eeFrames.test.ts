// The E2EE frame format (web/src/e2ee): RFC 9605's own test vectors, the clear
// prefix the bridge needs, and frames changed, replayed or read with the wrong
// key being refused. Key changes are in e2eeKeys.test.ts.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type Bytes, concatBytes } from '../../web/src/e2ee/bytes.ts';
import { openFrame, parseFrame, sealFrame } from '../../web/src/e2ee/FrameCipher.ts';
import { type CipherSuite, deriveFrameKey, randomSenderKey } from '../../web/src/e2ee/frameKeys.ts';
import { KeyRing } from '../../web/src/e2ee/KeyRing.ts';
import { REPLAY_WINDOW, ReplayWindow } from '../../web/src/e2ee/ReplayWindow.ts';
import { SenderKeys } from '../../web/src/e2ee/SenderKeys.ts';
import { encodeHeader, parseHeader } from '../../web/src/e2ee/sframeHeader.ts';

const hex = (text: string): Bytes => Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A frame of `length` bytes: `head`, then a compressible pattern (what an encoder's output is not, but deflate shows the difference). */
function frame(head: number[], length = 1200): Bytes {
  const out = Uint8Array.from({ length }, (_, i) => (i * 7) % 23);
  out.set(head);
  return out;
}
/** VP8 frame tags (RFC 6386 9.1): bit 0 of the first byte clear on a keyframe, whose start code 9d 01 2a and size follow. */
const VP8_KEYFRAME = [0x50, 0x2f, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
const VP8_DELTA = [0x31, 0x0b, 0x00];
const OPUS_TOC = [0x78];

describe('SFrame header (RFC 9605 C.1)', () => {
  const VECTORS: [number, number, string][] = [
    [0, 0, '00'], [0, 1, '01'], [0, 0xff, '08ff'], [0, 0x100, '090100'], [1, 0, '10'], [1, 0xffff, '19ffff'],
    [0xff, 0, '80ff'], [0xff, 0x100, '89ff0100'], [0x100, 0xffffffff, '9b0100ffffffff'],
    [0xffff, 0x10000000000, '9dffff010000000000'], [0xffffff, 0x100000000, 'acffffff0100000000'],
    [0x10000, 0x1000000000000, 'ae01000001000000000000'], [0xffffffff, 0xffffffffffff, 'bdffffffffffffffffffff'],
    [0xffffffffffff, 0xffffffffff, 'dcffffffffffffffffffffff'], [0x1000000000000, 0x1000000000000, 'ee0100000000000001000000000000'],
  ];

  it.each(VECTORS)('KID %d, CTR %d is %s both ways', (keyId, counter, header) => {
    expect(toHex(encodeHeader({ keyId, counter }))).toBe(header);
    expect(parseHeader(hex(header), 0)).toEqual({ header: { keyId, counter }, end: header.length / 2 });
  });

  it('refuses a value past 2^53 and a header cut short, rather than misreading them', () => {
    expect(parseHeader(hex('0fffffffffffffffff'), 0)).toBeUndefined();
    expect(parseHeader(hex('ee01000000000000ffffffffffffff'), 0)).toBeUndefined();
    expect(parseHeader(hex('9b0100ffffff'), 0)).toBeUndefined();
    expect(parseHeader(new Uint8Array(0), 0)).toBeUndefined();
  });
});

describe('SFrame encryption (RFC 9605 C.3)', () => {
  const metadata = hex('4945544620534672616d65205747');
  const plaintext = hex('64726166742d696574662d736672616d652d656e63');
  const VECTORS: [CipherSuite, string, string][] = [
    ['AES_128_GCM_SHA256_128', '75234edefe07819026751816', '9901234567b7412c2513a1b66dbb48841bbaf17f598751176ad847681a69c6d0b091c07018ce4adb34eb'],
    ['AES_256_GCM_SHA512_128', '84991c167b8cd23c93708ec7', '990123456794f509d36e9beacb0e261d99c7d1e972f1fed787d4049f17ca21353c1cc24d56ceabced279'],
  ];

  it.each(VECTORS)('%s: our frame is the metadata followed by the RFC ciphertext', async (suite, salt, ciphertext) => {
    const key = await deriveFrameKey({ keyId: 0x123, material: hex('000102030405060708090a0b0c0d0e0f') }, suite);
    expect(toHex(key.salt)).toBe(salt);
    const sealed = await sealFrame(key, 0x4567, concatBytes(metadata, plaintext), metadata.length);
    expect(toHex(sealed)).toBe(toHex(metadata) + ciphertext);
    const opened = await openFrame(key, parseFrame(sealed, metadata.length)!);
    expect(toHex(opened!)).toBe(toHex(metadata) + toHex(plaintext));
  });
});

describe.each<CipherSuite>(['AES_128_GCM_SHA256_128', 'AES_256_GCM_SHA512_128'])('frames under %s', (suite) => {
  async function pair() {
    const sender = await SenderKeys.create(suite);
    const receiver = new KeyRing(suite);
    await receiver.setKey(sender.current);
    return { sender, receiver };
  }

  it.each([
    ['a VP8 keyframe', 'vp8', VP8_KEYFRAME, 10],
    ['a VP8 delta frame', 'vp8', VP8_DELTA, 3],
    ['an Opus frame', 'opus', OPUS_TOC, 1],
  ] as const)('%s keeps its first %3$s bytes byte for byte, the header right after', async (_, codec, head, clear) => {
    const { sender, receiver } = await pair();
    const plain = frame([...head]);
    const sealed = await sender.encrypt(plain, codec);
    expect(toHex(sealed.subarray(0, clear))).toBe(toHex(plain.subarray(0, clear)));
    expect(sealed[clear]).toBe(0x00); // KID 0, CTR 0: a one-byte header
    expect(sealed.length).toBe(plain.length + 1 + 16);
    expect(toHex(sealed.subarray(clear + 1, clear + 33))).not.toBe(toHex(plain.subarray(clear, clear + 32)));
    const opened = await receiver.decrypt(sealed, codec);
    expect(opened.ok && toHex(opened.frame)).toBe(toHex(plain));
  });

  it('leaves nothing to compress beyond the clear prefix, where the same frames compress', async () => {
    const { sender } = await pair();
    const plain: Bytes[] = [];
    const encrypted: Bytes[] = [];
    for (let i = 0; i < 50; i++) {
      const delta = frame(VP8_DELTA);
      plain.push(delta.subarray(3));
      encrypted.push((await sender.encrypt(delta, 'vp8')).subarray(3 + 1));
    }
    const ratio = (parts: Bytes[]) => deflateSync(concatBytes(...parts)).length / concatBytes(...parts).length;
    console.log(`deflate ratio: plaintext ${ratio(plain).toFixed(3)}, encrypted ${ratio(encrypted).toFixed(3)}`);
    expect(ratio(plain)).toBeLessThan(0.1);
    expect(ratio(encrypted)).toBeGreaterThan(0.99);
  });

  it('refuses a frame changed anywhere: clear prefix, keyframe bit, header, ciphertext, tag', async () => {
    const { sender, receiver } = await pair();
    const sealed = await sender.encrypt(frame(VP8_KEYFRAME), 'vp8');
    const changed = (index: number, bits: number) => {
      const copy = sealed.slice();
      copy[index]! ^= bits;
      return copy;
    };
    const tampered = {
      prefix: changed(6, 0x01), // the width
      keyframeBit: changed(0, 0x01), // now a delta frame: the header is looked for at byte 3
      header: changed(10, 0x01), // CTR 0 -> 1
      ciphertext: changed(500, 0x80),
      tag: changed(sealed.length - 1, 0x01),
    };
    for (const [part, bytes] of Object.entries(tampered)) {
      expect({ part, ...(await receiver.decrypt(bytes, 'vp8')) }).toMatchObject({ part, ok: false });
    }
    // None of them used up the real frame's counter.
    expect((await receiver.decrypt(sealed, 'vp8')).ok).toBe(true);
  });

  it('refuses a frame seen before, and one older than the replay window, but not frames out of order', async () => {
    const { sender, receiver } = await pair();
    const last = REPLAY_WINDOW + 10;
    const sealed = await Promise.all(Array.from({ length: last + 1 }, () => sender.encrypt(frame(OPUS_TOC, 80), 'opus')));
    expect((await receiver.decrypt(sealed[5]!, 'opus')).ok).toBe(true);
    expect(await receiver.decrypt(sealed[5]!, 'opus')).toEqual({ ok: false, failure: 'replayed' });
    expect((await receiver.decrypt(sealed[3]!, 'opus')).ok).toBe(true);
    expect((await receiver.decrypt(sealed[last]!, 'opus')).ok).toBe(true);
    expect(await receiver.decrypt(sealed[10]!, 'opus')).toEqual({ ok: false, failure: 'replayed' }); // a window back
    expect((await receiver.decrypt(sealed[11]!, 'opus')).ok).toBe(true);
    // Two copies decrypting at the same time: one gets through.
    const twice = await Promise.all([receiver.decrypt(sealed[500]!, 'opus'), receiver.decrypt(sealed[500]!, 'opus')]);
    expect(twice.map((result) => result.ok).sort()).toEqual([false, true]);
  });

  it('does not let a forged frame with a far-ahead counter push real frames out of the window', async () => {
    const { sender, receiver } = await pair();
    const real = await sender.encrypt(frame(OPUS_TOC, 80), 'opus');
    const forged = concatBytes(Uint8Array.of(0x78), encodeHeader({ keyId: 0, counter: 1_000_000 }), new Uint8Array(95));
    expect(await receiver.decrypt(forged, 'opus')).toEqual({ ok: false, failure: 'cannot-decrypt' });
    expect((await receiver.decrypt(real, 'opus')).ok).toBe(true);
  });

  it('says cannot-decrypt under a wrong key, unknown-key without one, malformed when too short', async () => {
    const { sender } = await pair();
    const sealed = await sender.encrypt(frame(VP8_DELTA), 'vp8');
    const wrong = new KeyRing(suite);
    await wrong.setKey(randomSenderKey(sender.current.keyId));
    expect(await wrong.decrypt(sealed, 'vp8')).toEqual({ ok: false, failure: 'cannot-decrypt' });
    expect(await new KeyRing(suite).decrypt(sealed, 'vp8')).toEqual({ ok: false, failure: 'unknown-key' });
    expect(await wrong.decrypt(sealed.subarray(0, 3 + 1 + 15), 'vp8')).toEqual({ ok: false, failure: 'malformed' });
    expect(await wrong.decrypt(Uint8Array.of(0x30, 0), 'vp8')).toEqual({ ok: false, failure: 'malformed' });
  });

  it('refuses to encrypt a frame shorter than its clear prefix: nothing goes out unencrypted', async () => {
    const { sender } = await pair();
    await expect(sender.encrypt(Uint8Array.from(VP8_KEYFRAME.slice(0, 9)), 'vp8')).rejects.toThrow(RangeError);
    await expect(sender.encrypt(new Uint8Array(0), 'opus')).rejects.toThrow(RangeError);
  });
});

describe('ReplayWindow', () => {
  it('takes each counter once, within the window below the highest', () => {
    const window = new ReplayWindow();
    const highest = REPLAY_WINDOW + 500;
    const oldest = highest - REPLAY_WINDOW + 1;
    expect([10, 9, 10, highest, oldest, oldest - 1, highest - 1, highest - 1, 0].map((counter) => window.accept(counter))).toEqual([
      true, true, false, true, true, false, true, false, false,
    ]);
  });
});
