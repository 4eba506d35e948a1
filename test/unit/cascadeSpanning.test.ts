import { describe, expect, it } from 'vitest';
import { spanReason } from '../../bridge/cascade/spanning.ts';
import { linkToken, verifyLinkToken } from '../../bridge/cascade/linkToken.ts';
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
  it('verify with the secret, until they expire', () => {
    const token = linkToken(secret, { bridge: 'b', room: 'r' }, 1000);
    expect(verifyLinkToken(secret, token, 1000)).toEqual({ bridge: 'b', room: 'r' });
    expect(verifyLinkToken(secret, token, 1000 + 31_000)).toBeUndefined();
    expect(verifyLinkToken('y'.repeat(32), token, 1000)).toBeUndefined();
  });
  it('refuse a changed claim or garbage', () => {
    const [, sig] = linkToken(secret, { bridge: 'b', room: 'r' }, 1000).split('.');
    const forged = `${Buffer.from(JSON.stringify({ b: 'c', r: 'r', exp: 99_999 })).toString('base64url')}.${sig}`;
    expect(verifyLinkToken(secret, forged, 1000)).toBeUndefined();
    expect(verifyLinkToken(secret, 'nonsense', 1000)).toBeUndefined();
    expect(verifyLinkToken(secret, '', 1000)).toBeUndefined();
  });
});
