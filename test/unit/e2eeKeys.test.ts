// E2EE key changes and key exchange (web/src/e2ee), as issue 16 asks of the
// crypto module: a leaver's key reads nothing sent after the rotation; the
// ratchet on join is the same for everyone holding the old key; sender keys
// cross the bridge only wrapped under pairwise ECDH keys; both ends of a pair
// see the same verification code.
import { describe, expect, it } from 'vitest';
import { type Bytes, fromBase64, toBase64 } from '../../web/src/e2ee/bytes.ts';
import { ratchetSenderKey, type SenderKey } from '../../web/src/e2ee/frameKeys.ts';
import { KeyRing } from '../../web/src/e2ee/KeyRing.ts';
import { KeyExchangeError, PairwiseKeys } from '../../web/src/e2ee/PairwiseKeys.ts';
import { SenderKeys } from '../../web/src/e2ee/SenderKeys.ts';
import { VERIFICATION_EMOJI, verificationCode } from '../../web/src/e2ee/verificationCode.ts';

const SUITE = 'AES_128_GCM_SHA256_128';
const opus = () => Uint8Array.from({ length: 100 }, (_, i) => (i === 0 ? 0x78 : i));

/** Alice sending, and a receiver's key ring for each other participant named. */
async function meeting(...receivers: string[]) {
  const alice = await SenderKeys.create(SUITE);
  const rings = new Map<string, KeyRing>();
  for (const name of receivers) {
    const ring = new KeyRing(SUITE);
    await ring.setKey(alice.current);
    rings.set(name, ring);
  }
  return { alice, ring: (name: string) => rings.get(name)! };
}

describe('sender key changes', () => {
  it('after someone leaves, their last key cannot decrypt frames sent after the rotation', async () => {
    const { alice, ring } = await meeting('bob', 'carol');
    expect((await ring('carol').decrypt(await alice.encrypt(opus(), 'opus'), 'opus')).ok).toBe(true);

    const last = alice.current;
    const rotated = await alice.rotate(); // Carol left; Bob gets the new key, Carol does not
    expect(await ring('bob').setKey(rotated)).toBe(true);
    const after = await alice.encrypt(opus(), 'opus');
    expect((await ring('bob').decrypt(after, 'opus')).ok).toBe(true);
    // Carol tries the ratchet from her last key (as for a join) and fails: the new key is random.
    expect(await ring('carol').decrypt(after, 'opus')).toEqual({ ok: false, failure: 'unknown-key' });
    expect(rotated.material).not.toEqual((await ratchetSenderKey(last)).material);
  });

  it('ratchets on join the same way for everyone holding the old key, and the newcomer cannot go back', async () => {
    const { alice, ring } = await meeting('bob', 'carol');
    const before = alice.current;
    const beforeFrame = await alice.encrypt(opus(), 'opus');
    const ratcheted = await alice.ratchet(); // Dave joined

    // Computed apart, from the same old key, the same next one.
    expect(await ratchetSenderKey(before)).toEqual(ratcheted);
    expect(ratcheted.keyId).toBe(before.keyId + 1);
    // Bob and Carol follow by themselves, told nothing.
    const afterFrame = await alice.encrypt(opus(), 'opus');
    expect(afterFrame[1]).toBe(0x10); // KID 1, the counter starting again at 0: a one-byte header
    for (const name of ['bob', 'carol']) expect((await ring(name).decrypt(afterFrame, 'opus')).ok).toBe(true);
    // Dave, given only the new key, reads what follows and not what came before.
    const dave = new KeyRing(SUITE);
    await dave.setKey(ratcheted);
    expect((await dave.decrypt(await alice.encrypt(opus(), 'opus'), 'opus')).ok).toBe(true);
    expect(await dave.decrypt(beforeFrame, 'opus')).toEqual({ ok: false, failure: 'unknown-key' });
  });

  it('still decrypts frames in flight under the previous key after a change, a few generations back', async () => {
    const { alice, ring } = await meeting('bob');
    const inFlight = await alice.encrypt(opus(), 'opus');
    await ring('bob').setKey(await alice.rotate());
    await ring('bob').setKey(await alice.rotate());
    expect((await ring('bob').decrypt(inFlight, 'opus')).ok).toBe(true);
    const older = await alice.encrypt(opus(), 'opus');
    for (let i = 0; i < 3; i++) await ring('bob').setKey(await alice.rotate());
    expect(await ring('bob').decrypt(older, 'opus')).toEqual({ ok: false, failure: 'unknown-key' });
  });

  it('keeps encrypting under the old key until the new one has been handed out', async () => {
    const { alice, ring } = await meeting('bob');
    const dave = new KeyRing(SUITE);
    let duringHandOut: Bytes | undefined;
    const ratcheted = await alice.ratchet(async (key) => {
      await dave.setKey(key);
      duringHandOut = await alice.encrypt(opus(), 'opus');
    });
    expect(duringHandOut![1]! >> 4).toBe(0); // KID 0: the old key
    expect((await ring('bob').decrypt(duringHandOut!, 'opus')).ok).toBe(true);
    expect(await dave.decrypt(duringHandOut!, 'opus')).toEqual({ ok: false, failure: 'unknown-key' });
    expect(alice.current).toEqual(ratcheted);
    expect((await dave.decrypt(await alice.encrypt(opus(), 'opus'), 'opus')).ok).toBe(true);
    // A hand-out that fails changes nothing.
    await expect(alice.rotate(async () => Promise.reject(new Error('signaling closed')))).rejects.toThrow('signaling closed');
    expect(alice.current).toEqual(ratcheted);
  });

  it('never reuses an abandoned change\'s key id: a receiver that got the abandoned key takes the next one', async () => {
    const { alice, ring } = await meeting('bob');
    let abandoned: SenderKey | undefined;
    // Someone leaves; the new key reaches Bob but not everyone, so the change is abandoned.
    await expect(
      alice.rotate(async (key) => {
        abandoned = key;
        await ring('bob').setKey(key);
        throw new Error('a key could not be sent');
      }),
    ).rejects.toThrow();
    // Someone else leaves: this key is newer than the abandoned one Bob holds, and he decrypts with it.
    const next = await alice.rotate(async (key) => expect(await ring('bob').setKey(key)).toBe(true));
    expect(next.keyId).toBeGreaterThan(abandoned!.keyId);
    expect((await ring('bob').decrypt(await alice.encrypt(opus(), 'opus'), 'opus')).ok).toBe(true);
    // A ratchet after an abandoned one steps as many times as ids went by: followers derive the same key.
    const before = alice.current;
    await expect(alice.ratchet(async () => Promise.reject(new Error('lost')))).rejects.toThrow();
    const ratcheted = await alice.ratchet();
    expect(ratcheted).toEqual(await ratchetSenderKey(await ratchetSenderKey(before)));
  });

  it('two joins at once make two generations', async () => {
    const { alice } = await meeting();
    const [first, second] = await Promise.all([alice.ratchet(), alice.ratchet()]);
    expect([first.keyId, second.keyId]).toEqual([1, 2]);
    expect(await ratchetSenderKey(first)).toEqual(second);
  });

  it('refuses a key older than, or the same generation as, the newest it holds', async () => {
    const { alice, ring } = await meeting('bob');
    const first = alice.current;
    expect(await ring('bob').setKey(first)).toBe(false);
    expect(await ring('bob').setKey(await alice.rotate())).toBe(true);
    expect(await ring('bob').setKey(first)).toBe(false);
  });
});

describe('pairwise keys', () => {
  it('wraps a sender key so that only the peer it is for unwraps it', async () => {
    const [alice, bob, carol] = await Promise.all([PairwiseKeys.create(), PairwiseKeys.create(), PairwiseKeys.create()]);
    const senderKey = (await SenderKeys.create(SUITE)).current;
    const wrapped = await (await alice.withPeer(bob.publicKey)).wrap(senderKey);
    // What crosses the bridge: base64 text, the key nowhere in it.
    expect(wrapped).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(toBase64(fromBase64(wrapped))).toBe(wrapped);
    expect(Buffer.from(fromBase64(wrapped)).includes(Buffer.from(senderKey.material))).toBe(false);

    // Bob derives the same pairwise key from his side.
    expect(await (await bob.withPeer(alice.publicKey)).unwrap(wrapped)).toEqual(senderKey);
    // Carol cannot, even told it came from Alice; nor does it go back to Alice as Bob's.
    await expect((await carol.withPeer(alice.publicKey)).unwrap(wrapped)).rejects.toThrow(KeyExchangeError);
    await expect((await alice.withPeer(bob.publicKey)).unwrap(wrapped)).rejects.toThrow(KeyExchangeError);
  });

  it('refuses a wrapped key relabelled as another generation, or cut short', async () => {
    const [alice, bob] = await Promise.all([PairwiseKeys.create(), PairwiseKeys.create()]);
    const bytes = fromBase64(await (await alice.withPeer(bob.publicKey)).wrap((await SenderKeys.create(SUITE)).current));
    const fromAlice = await bob.withPeer(alice.publicKey);
    const relabelled = bytes.slice();
    relabelled[7] = 5;
    await expect(fromAlice.unwrap(toBase64(relabelled))).rejects.toThrow(/does not authenticate/);
    await expect(fromAlice.unwrap(toBase64(bytes.subarray(1)))).rejects.toThrow(/not 68/);
    await expect(fromAlice.unwrap('not base64!')).rejects.toThrow(/not base64/);
  });

  it('refuses a public key that is not a point on P-256, and our own', async () => {
    const alice = await PairwiseKeys.create();
    const offCurve = Uint8Array.of(0x04, ...new Uint8Array(63), 1);
    await expect(alice.withPeer(toBase64(offCurve))).rejects.toThrow(/not a point on P-256/);
    await expect(alice.withPeer(toBase64(new Uint8Array(33)))).rejects.toThrow(/not an uncompressed P-256/);
    await expect(alice.withPeer(alice.publicKey)).rejects.toThrow(/our own/);
  });
});

describe('verification code', () => {
  it('is the same on both sides, and differs for a third party', async () => {
    const [alice, bob, carol] = await Promise.all([PairwiseKeys.create(), PairwiseKeys.create(), PairwiseKeys.create()]);
    const seenByAlice = await verificationCode(alice.publicKey, bob.publicKey);
    const seenByBob = await verificationCode(bob.publicKey, alice.publicKey);
    expect(seenByBob).toEqual(seenByAlice);
    expect(seenByAlice.emoji).toHaveLength(7);
    expect(seenByAlice.digits).toHaveLength(5);
    for (const group of seenByAlice.digits) expect(group).toMatch(/^\d{5}$/);
    const withCarol = await verificationCode(alice.publicKey, carol.publicKey);
    expect(withCarol.digits).not.toEqual(seenByAlice.digits);
    expect(withCarol.emoji).not.toEqual(seenByAlice.emoji);
  });

  it('draws on 64 distinct emoji, each with a name', () => {
    expect(new Set(VERIFICATION_EMOJI.map((emoji) => emoji.symbol)).size).toBe(64);
    expect(new Set(VERIFICATION_EMOJI.map((emoji) => emoji.name)).size).toBe(64);
  });
});
