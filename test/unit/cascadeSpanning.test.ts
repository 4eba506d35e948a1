import { describe, expect, it } from 'vitest';
import { linkRefusal, MAX_SATELLITES, spanReason, type LinkTarget } from '../../bridge/cascade/spanning.ts';
import { linkToken, LinkTokenReplays, verifyLinkToken } from '../../bridge/cascade/linkToken.ts';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { configError } from '../helpers/config.ts';

const home = (region: string | undefined, load = 1, capacity = 10) => ({ id: 'a', url: 'http://a', load, capacity, ...(region !== undefined && { region }) });
const here = (region: string | undefined, load = 1, capacity = 10) => ({ region, load, capacity });

describe('spanReason', () => {
  it('serves a client of this region when the home is in another', () => {
    expect(spanReason(here('b'), home('a'), 'b')).toBe('region');
    expect(spanReason(here('b'), home(undefined), 'b')).toBe('region');
  });
  it('sends the join home when the regions do not call for it', () => {
    expect(spanReason(here('b'), home('a'), undefined)).toBeUndefined();
    expect(spanReason(here('b'), home('a'), 'a')).toBeUndefined();
    expect(spanReason(here('b'), home('b'), 'b')).toBeUndefined();
    expect(spanReason(here(undefined), home('a'), 'b')).toBeUndefined();
  });
  it('serves when the home is full and this bridge is not; never when this one is full or draining', () => {
    expect(spanReason(here(undefined), home('a', 10, 10), undefined)).toBe('homeFull');
    expect(spanReason(here(undefined, 10, 10), home('a', 10, 10), undefined)).toBeUndefined();
    expect(spanReason(here('b', 0, 0), home('a'), 'b')).toBeUndefined();
    // A draining home (capacity 0) keeps its rooms' joins.
    expect(spanReason(here(undefined), home('a', 5, 0), undefined)).toBeUndefined();
  });
});

describe('BRIDGE_REGION', () => {
  const base = { HTTP_ONLY: 'true', REDIS_URL: 'redis://r:6379' };
  it('is published with the bridge, and unset (or empty, as compose passes it) means none', () => {
    expect(loadBridgeConfig({ ...base, BRIDGE_REGION: 'eu-west' }).directory?.region).toBe('eu-west');
    expect(loadBridgeConfig(base).directory?.region).toBeUndefined();
    expect(loadBridgeConfig({ ...base, BRIDGE_REGION: '' }).directory?.region).toBeUndefined();
  });
  it('refuses what is not a short label', () => {
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_REGION: 'eu west' })).toMatch(/BRIDGE_REGION/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_REGION: 'x'.repeat(33) })).toMatch(/BRIDGE_REGION/);
  });
});

describe('link tokens', () => {
  const secret = 'x'.repeat(32);
  it('verify with the secret, on the bridge they were made for, until they expire', () => {
    const token = linkToken(secret, { bridge: 'b', room: 'r', target: 'a' }, 1000);
    expect(verifyLinkToken(secret, token, 'a', 1000)).toMatchObject({ bridge: 'b', room: 'r', expires: 31_000 });
    expect(verifyLinkToken(secret, token, 'a', 1000 + 31_000)).toBeUndefined();
    expect(verifyLinkToken('y'.repeat(32), token, 'a', 1000)).toBeUndefined();
    expect(verifyLinkToken(secret, token, 'c', 1000)).toBeUndefined();
  });
  it('refuse a changed claim or garbage', () => {
    const [, sig] = linkToken(secret, { bridge: 'b', room: 'r', target: 'a' }, 1000).split('.');
    const forged = `${Buffer.from(JSON.stringify({ b: 'c', r: 'r', t: 'a', n: 'x', exp: 99_999 })).toString('base64url')}.${sig}`;
    expect(verifyLinkToken(secret, forged, 'a', 1000)).toBeUndefined();
    expect(verifyLinkToken(secret, 'nonsense', 'a', 1000)).toBeUndefined();
    expect(verifyLinkToken(secret, '', 'a', 1000)).toBeUndefined();
  });
  it('open one link each: a replay is refused while the token lives, and the memory is bounded', () => {
    const replays = new LinkTokenReplays(2);
    const verified = (now: number) => verifyLinkToken(secret, linkToken(secret, { bridge: 'b', room: 'r', target: 'a' }, now), 'a', now)!;
    const first = verified(1000);
    expect(first.nonce).not.toBe(verified(1000).nonce);
    expect(replays.take(first, 1000)).toBeUndefined();
    expect(replays.take(first, 2000)).toBe('replayed');
    expect(replays.take(verified(2000), 2000)).toBeUndefined();
    expect(replays.take(verified(3000), 3000)).toBe('full');
    // Once the first expired, its place is free.
    expect(replays.take(verified(32_000), 32_000)).toBeUndefined();
  });
});

describe('which links a home takes', () => {
  const room = (over: Partial<LinkTarget> = {}): LinkTarget => ({ homeBridge: undefined, e2ee: false, guardsEntry: false, linkedBridges: new Set(), ...over });
  it('takes a link for a room of its own, and a new link of the bridge already linked (a stale one)', () => {
    expect(linkRefusal('r', room(), 'b')).toBeUndefined();
    expect(linkRefusal('r', room({ linkedBridges: new Set(['b']) }), 'b')).toBeUndefined();
  });
  it('takes more satellites (the home passes media between them), up to MAX_SATELLITES', () => {
    const linked = (count: number) => new Set(Array.from({ length: count }, (_, i) => `s${i}`));
    expect(linkRefusal('r', room({ linkedBridges: new Set(['b']) }), 'c')).toBeUndefined();
    expect(linkRefusal('r', room({ linkedBridges: linked(MAX_SATELLITES - 1) }), 'c')).toBeUndefined();
    expect(linkRefusal('r', room({ linkedBridges: linked(MAX_SATELLITES) }), 'c')).toMatch(/already served by 8 other bridges: 8 at most/);
    // A full room's satellite linking again (its old link stale) is not one more.
    expect(linkRefusal('r', room({ linkedBridges: linked(MAX_SATELLITES) }), 's0')).toBeUndefined();
  });
  it('refuses a room not here, a satellite, an encrypted or guarded room', () => {
    expect(linkRefusal('r', undefined, 'b')).toMatch(/does not live on this bridge/);
    expect(linkRefusal('r', room({ homeBridge: 'c' }), 'b')).toMatch(/does not live on this bridge/);
    expect(linkRefusal('r', room({ e2ee: true }), 'b')).toMatch(/end-to-end encrypted/);
    expect(linkRefusal('r', room({ guardsEntry: true }), 'b')).toMatch(/locked or has its lobby on/);
  });
});
