// The pure parts of SIP flood control: per-source token buckets, the
// failure-counting block list, and the scanner user agents.
import { describe, expect, it } from 'vitest';
import { isScannerUserAgent } from '../../gateway/edge/scannerUserAgents.ts';
import { SourceBlocklist } from '../../gateway/edge/SourceBlocklist.ts';
import { SourceRateLimits } from '../../gateway/edge/SourceRateLimits.ts';

const clock = () => {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

describe('SourceRateLimits', () => {
  it('lets a two-second burst through, then refuses with the seconds until a token is back', () => {
    const time = clock();
    const limits = new SourceRateLimits({ perSecond: { INVITE: 2, REGISTER: 5, OPTIONS: 1 }, maxSources: 10, now: time.now });
    const takes = Array.from({ length: 6 }, () => limits.take('192.0.2.1', 'INVITE'));
    expect(takes.filter((t) => t.ok)).toHaveLength(4);
    expect(takes[4]).toEqual({ ok: false, retryAfterSeconds: 1 });
    // Another method and another source have their own buckets.
    expect(limits.take('192.0.2.1', 'REGISTER').ok).toBe(true);
    expect(limits.take('192.0.2.2', 'INVITE').ok).toBe(true);
    time.advance(500);
    expect(limits.take('192.0.2.1', 'INVITE').ok).toBe(true);
    expect(limits.take('192.0.2.1', 'INVITE').ok).toBe(false);
  });

  it('asks a slow bucket to wait whole seconds', () => {
    const time = clock();
    const limits = new SourceRateLimits({ perSecond: { INVITE: 1, REGISTER: 1, OPTIONS: 1 }, maxSources: 10, now: time.now });
    limits.take('192.0.2.1', 'OPTIONS');
    limits.take('192.0.2.1', 'OPTIONS');
    expect(limits.take('192.0.2.1', 'OPTIONS')).toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('tracks at most maxSources, dropping the least recently seen', () => {
    const time = clock();
    const limits = new SourceRateLimits({ perSecond: { INVITE: 1, REGISTER: 1, OPTIONS: 1 }, maxSources: 4, now: time.now });
    const exhaust = (address: string) => {
      limits.take(address, 'INVITE');
      limits.take(address, 'INVITE');
    };
    exhaust('10.0.0.1');
    exhaust('10.0.0.2');
    // Seen again lately, it is kept (still out of tokens) while another source comes and goes.
    expect(limits.take('10.0.0.1', 'INVITE').ok).toBe(false);
    exhaust('10.0.0.3');
    expect(limits.take('10.0.0.1', 'INVITE').ok).toBe(false);
    for (let i = 0; i < 1000; i++) limits.take(`10.1.${i >> 8}.${i & 255}`, 'OPTIONS');
    expect(limits.trackedSources).toBeLessThanOrEqual(4);
    expect(limits.take('10.0.0.1', 'INVITE').ok).toBe(true); // forgotten: a fresh bucket
  });
});

describe('SourceBlocklist', () => {
  const list = (time: ReturnType<typeof clock>, maxSources = 100) =>
    new SourceBlocklist({ failuresToBlock: 3, windowMs: 60_000, blockMs: 600_000, maxSources, now: time.now });

  it('blocks a source at the Nth failure within the window, for blockMs', () => {
    const time = clock();
    const blocks = list(time);
    expect(blocks.fail('198.51.100.7')).toBeUndefined();
    expect(blocks.fail('198.51.100.7')).toBeUndefined();
    expect(blocks.fail('198.51.100.8')).toBeUndefined();
    expect(blocks.fail('198.51.100.7')).toBe(time.now() + 600_000);
    expect(blocks.isBlocked('198.51.100.7')).toBe(true);
    expect(blocks.isBlocked('198.51.100.8')).toBe(false);
    time.advance(600_001);
    expect(blocks.isBlocked('198.51.100.7')).toBe(false);
  });

  it('forgets failures older than the window', () => {
    const time = clock();
    const blocks = list(time);
    blocks.fail('198.51.100.7');
    blocks.fail('198.51.100.7');
    time.advance(60_001);
    expect(blocks.fail('198.51.100.7')).toBeUndefined();
    expect(blocks.isBlocked('198.51.100.7')).toBe(false);
  });

  it('takes blocks from elsewhere, ignoring ones already over', () => {
    const time = clock();
    const blocks = list(time);
    blocks.block('203.0.113.9', time.now() + 1000);
    blocks.block('203.0.113.10', time.now() - 1);
    expect(blocks.isBlocked('203.0.113.9')).toBe(true);
    expect(blocks.isBlocked('203.0.113.10')).toBe(false);
  });

  it('holds at most maxSources counts and blocks', () => {
    const time = clock();
    const blocks = list(time, 10);
    for (let i = 0; i < 100; i++) for (let n = 0; n < 3; n++) blocks.fail(`10.2.0.${i}`);
    expect(blocks.blockedCount).toBe(10);
    expect(blocks.isBlocked('10.2.0.99')).toBe(true);
    expect(blocks.isBlocked('10.2.0.0')).toBe(false);
  });
});

describe('scanner user agents', () => {
  it.each(['friendly-scanner', 'sipvicious', 'sipcli/v1.8', 'VaxSIPUserAgent/3.1', 'sundayddr', 'iWar', 'SIPScan'])('%s is a scanner', (ua) => {
    expect(isScannerUserAgent(ua)).toBe(true);
  });
  it.each(['Linphone/5.2', 'baresip v3.10', 'sipp', 'Asterisk PBX 20', 'telebridge', undefined])('%s is not', (ua) => {
    expect(isScannerUserAgent(ua)).toBe(false);
  });
});
