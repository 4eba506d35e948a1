import { describe, expect, it } from 'vitest';
import { plainAddress, type MediaNetwork } from '../../bridge/rooms/Room.ts';

const network = (overrides: Partial<MediaNetwork> = {}): MediaNetwork => ({
  listenIp: '0.0.0.0',
  announcedAddress: '203.0.113.5', // a NAT's public address, for browsers
  plainAnnouncedAddress: undefined,
  plainPortRange: { min: 11000, max: 11999 },
  ...overrides,
});

describe('where a service is told to send plain RTP', () => {
  it('is where its signaling reached the bridge, not the address announced to browsers', () => {
    expect(plainAddress(network(), '127.0.0.1')).toBe('127.0.0.1'); // the all-in-one's gateway
    expect(plainAddress(network(), '::ffff:10.0.0.5')).toBe('10.0.0.5'); // a gateway on the LAN
  });

  it('is the listen address when the media listens on one address only', () => {
    expect(plainAddress(network({ listenIp: '10.0.0.5' }), '127.0.0.1')).toBe('10.0.0.5');
  });

  it('is MEDIA_PLAIN_ANNOUNCED_ADDRESS when set (services behind a proxy on the bridge host)', () => {
    expect(plainAddress(network({ plainAnnouncedAddress: '10.0.0.9' }), '127.0.0.1')).toBe('10.0.0.9');
  });

  it('falls back to the announced address when the signaling came over a family the media does not listen on', () => {
    expect(plainAddress(network(), '::1')).toBe('203.0.113.5');
    expect(plainAddress(network(), undefined)).toBe('203.0.113.5');
  });
});
