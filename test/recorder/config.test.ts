import { describe, expect, it } from 'vitest';
import { loadRecorderConfig } from '../../recorder/config.ts';
import { configError as expectConfigError } from '../helpers/config.ts';

const configError = (env: Record<string, string>) => expectConfigError(loadRecorderConfig, env);

describe('recorder configuration', () => {
  it('has all-in-one defaults: bridge and Redis on this host, media ports below the ephemeral range', () => {
    const config = loadRecorderConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.bridgeUrl).toBe('http://127.0.0.1:8080');
    expect(config.concurrency).toBe(2);
    // No media address: each recording binds the one this host reaches the bridge's media from.
    expect(config.media).toEqual({ address: undefined, portMin: 14000, portMax: 14999 });
  });

  it('takes a media address and ports for a recorder on another host than the bridge', () => {
    const config = loadRecorderConfig({ RECORDER_MEDIA_ADDRESS: '127.0.0.1', RECORDER_RTP_PORT_MIN: '20000', RECORDER_RTP_PORT_MAX: '20099' });
    expect(config.media).toEqual({ address: '127.0.0.1', portMin: 20000, portMax: 20099 });
    // Sockets are bound to it, so it must be this host's.
    expect(configError({ RECORDER_MEDIA_ADDRESS: '198.51.100.7' })).toContain('RECORDER_MEDIA_ADDRESS: not an address of this host');
  });

  it('names every bad setting', () => {
    const message = configError({
      REDIS_URL: 'http://redis',
      RECORDER_CONCURRENCY: '0',
      RECORDER_MEDIA_ADDRESS: 'recorder.local',
      CHROMIUM_PATH: '/nonexistent/chromium',
      RECORDER_X264_PRESET: 'placebo',
    });
    for (const name of ['REDIS_URL', 'RECORDER_CONCURRENCY', 'RECORDER_MEDIA_ADDRESS', 'CHROMIUM_PATH', 'RECORDER_X264_PRESET']) expect(message).toContain(name);
    expect(configError({ RECORDER_RTP_PORT_MIN: '45000', RECORDER_RTP_PORT_MAX: '44000' })).toContain('RECORDER_RTP_PORT_MIN');
  });
});
