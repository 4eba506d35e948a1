import { describe, expect, it } from 'vitest';
import { parseHostPattern, StreamDestinationRefused, StreamDestinations } from '../../bridge/streaming/StreamDestinations.ts';

const dnsTable: Record<string, string[]> = {
  'a.rtmp.youtube.com': ['142.250.1.1', '2a00:1450:4001::1'],
  'sneaky.example': ['8.8.8.8', '169.254.169.254'],
  'mapped.example': ['::ffff:10.0.0.1'],
  'nginx.test': ['127.0.0.1'],
  'live.internal.example': ['10.2.3.4'],
};
const lookup = async (host: string) => {
  const found = dnsTable[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};
const verdict = (policy: StreamDestinations, url: string) =>
  policy.check(url).then(
    () => 'allowed',
    (error: unknown) => (error instanceof StreamDestinationRefused ? error.message : `other: ${String(error)}`),
  );

describe('stream destinations', () => {
  const closed = new StreamDestinations([], lookup);

  it('allows public hosts', async () => {
    expect(await verdict(closed, 'rtmp://a.rtmp.youtube.com/live2/key')).toBe('allowed');
    expect(await verdict(closed, 'rtmps://8.8.8.8/app/key')).toBe('allowed');
  });

  it('refuses loopback, private, link-local, metadata, mapped and reserved addresses by default', async () => {
    expect(await verdict(closed, 'rtmp://127.0.0.1/live/x')).toMatch(/is a loopback address; add it to STREAM_ALLOWED_HOSTS/);
    expect(await verdict(closed, 'rtmp://10.0.0.8/live/x')).toMatch(/private/);
    expect(await verdict(closed, 'rtmp://169.254.169.254/latest')).toMatch(/linkLocal/);
    expect(await verdict(closed, 'rtmp://[::1]/live/x')).toMatch(/loopback/);
    expect(await verdict(closed, 'rtmp://[fd00:ec2::254]/x')).toMatch(/uniqueLocal/);
    expect(await verdict(closed, 'rtmp://198.18.1.5/live/x')).toMatch(/reserved/);
    expect(await verdict(closed, 'rtmp://100.64.0.1/live/x')).toMatch(/carrierGradeNat/);
    expect(await verdict(closed, 'rtmp://mapped.example/live/x')).toMatch(/\(::ffff:10\.0\.0\.1\) is a private address/);
  });

  it('judges every address a name resolves to, and refuses names that do not resolve', async () => {
    expect(await verdict(closed, 'rtmp://sneaky.example/live/x')).toMatch(/sneaky\.example \(169\.254\.169\.254\) is a linkLocal address/);
    expect(await verdict(closed, 'rtmp://nowhere.example/live/x')).toBe('stream host nowhere.example does not resolve');
  });

  it('refuses a name whose lookup hangs, after its deadline', async () => {
    const hanging = new StreamDestinations([], () => new Promise<string[]>(() => {}), 20);
    expect(await verdict(hanging, 'rtmp://slow.example/live/x')).toBe('stream host slow.example did not resolve within 20 ms');
  });

  it('allows what STREAM_ALLOWED_HOSTS lists: names, *.domains, addresses and ranges', async () => {
    const policy = new StreamDestinations(['nginx.test', '*.internal.example', '198.18.0.0/15', '::1'].map(parseHostPattern), lookup);
    expect(await verdict(policy, 'rtmp://nginx.test/live/x')).toBe('allowed');
    expect(await verdict(policy, 'rtmp://live.internal.example/live/x')).toBe('allowed');
    expect(await verdict(policy, 'rtmp://198.19.255.1/live/x')).toBe('allowed');
    expect(await verdict(policy, 'rtmp://[::1]/live/x')).toBe('allowed');
    expect(await verdict(policy, 'rtmp://127.0.0.1/live/x')).toMatch(/loopback/);
    expect(await verdict(policy, 'rtmp://internal.example.evil.com/live/x')).toMatch(/does not resolve/);
  });

  it('names a bad STREAM_ALLOWED_HOSTS entry', () => {
    expect(() => parseHostPattern('10.0.0.0/99')).toThrow(/"10.0.0.0\/99" is not a CIDR range/);
    expect(() => parseHostPattern('bad host!')).toThrow(/"bad host!" is not a host name, \*\.domain, address or CIDR range/);
  });
});
