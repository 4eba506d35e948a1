// The short code two participants read to each other out of band to know no
// one stands between them: derived from both public keys, in an order that
// does not depend on who computes it, so it is the same on both screens. A
// bridge that swapped in keys of its own would have to make two different
// pairs of keys hash to the same code.
//
// Two forms of one SHA-256: 7 emoji from a list of 64 (42 bits: quick to
// compare, but a bridge grinding keys on both sides needs only about 2^21
// tries each to match them), and 5 groups of 5 digits (about 83 bits: the one
// to read when it matters, beyond any grinding).

import { concatBytes } from './bytes.ts';
import { comparePublicKeys, importPublicKey } from './PairwiseKeys.ts';

/** Matrix's SAS emoji (also Jitsi's): 64 pictures, each with a name to read aloud or to a screen reader. */
export const VERIFICATION_EMOJI = [
  ['🐶', 'Dog'], ['🐱', 'Cat'], ['🦁', 'Lion'], ['🐎', 'Horse'], ['🦄', 'Unicorn'], ['🐷', 'Pig'], ['🐘', 'Elephant'], ['🐰', 'Rabbit'],
  ['🐼', 'Panda'], ['🐓', 'Rooster'], ['🐧', 'Penguin'], ['🐢', 'Turtle'], ['🐟', 'Fish'], ['🐙', 'Octopus'], ['🦋', 'Butterfly'], ['🌷', 'Flower'],
  ['🌳', 'Tree'], ['🌵', 'Cactus'], ['🍄', 'Mushroom'], ['🌏', 'Globe'], ['🌙', 'Moon'], ['☁️', 'Cloud'], ['🔥', 'Fire'], ['🍌', 'Banana'],
  ['🍎', 'Apple'], ['🍓', 'Strawberry'], ['🌽', 'Corn'], ['🍕', 'Pizza'], ['🎂', 'Cake'], ['❤️', 'Heart'], ['😀', 'Smiley'], ['🤖', 'Robot'],
  ['🎩', 'Hat'], ['👓', 'Glasses'], ['🔧', 'Spanner'], ['🎅', 'Santa'], ['👍', 'Thumbs Up'], ['☂️', 'Umbrella'], ['⌛', 'Hourglass'], ['⏰', 'Clock'],
  ['🎁', 'Gift'], ['💡', 'Light Bulb'], ['📕', 'Book'], ['✏️', 'Pencil'], ['📎', 'Paperclip'], ['✂️', 'Scissors'], ['🔒', 'Lock'], ['🔑', 'Key'],
  ['🔨', 'Hammer'], ['☎️', 'Telephone'], ['🏁', 'Flag'], ['🚂', 'Train'], ['🚲', 'Bicycle'], ['✈️', 'Aeroplane'], ['🚀', 'Rocket'], ['🏆', 'Trophy'],
  ['⚽', 'Ball'], ['🎸', 'Guitar'], ['🎺', 'Trumpet'], ['🔔', 'Bell'], ['⚓', 'Anchor'], ['🎧', 'Headphones'], ['📁', 'Folder'], ['📌', 'Pin'],
].map(([symbol, name]) => ({ symbol: symbol!, name: name! }));

const EMOJI_COUNT = 7;
const DIGIT_GROUPS = 5;
/** Bytes of the hash per digit group: 40 bits, so 5 digits (mod 100000) come out all but evenly. */
const GROUP_BYTES = 5;
const LABEL = new TextEncoder().encode('Telebridge E2EE verification code');

export interface VerificationCode {
  readonly emoji: readonly { readonly symbol: string; readonly name: string }[];
  /** Five groups of five digits, each zero-padded. */
  readonly digits: readonly string[];
}

/** The code for two public keys as they travel; throws KeyExchangeError if either is not a P-256 public key. */
export async function verificationCode(publicKeyA: string, publicKeyB: string): Promise<VerificationCode> {
  const keys = await Promise.all([publicKeyA, publicKeyB].map(async (key) => (await importPublicKey(key)).raw));
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', concatBytes(LABEL, ...keys.sort(comparePublicKeys))));
  // Emoji from the first 42 bits (6 bytes), digits from the next 25 bytes: each form its own bits.
  let bits = 0n;
  for (const byte of hash.subarray(0, 6)) bits = (bits << 8n) | BigInt(byte);
  const emoji = Array.from({ length: EMOJI_COUNT }, (_, i) => VERIFICATION_EMOJI[Number((bits >> BigInt(48 - 6 * (i + 1))) & 63n)]!);
  const digits = Array.from({ length: DIGIT_GROUPS }, (_, i) => {
    let group = 0;
    for (const byte of hash.subarray(6 + i * GROUP_BYTES, 6 + (i + 1) * GROUP_BYTES)) group = group * 256 + byte;
    return String(group % 100_000).padStart(5, '0');
  });
  return { emoji, digits };
}
