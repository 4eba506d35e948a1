import { describe, expect, it } from 'vitest';
import { loadRecorderConfig } from '../../recorder/config.ts';
import { configError as expectConfigError } from '../helpers/config.ts';

const configError = (env: Record<string, string>) => expectConfigError(loadRecorderConfig, env);

describe('recorder configuration', () => {
  it('has all-in-one defaults: bridge and Redis on this host, room audio over loopback', () => {
    const config = loadRecorderConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.bridgeUrl).toBe('http://127.0.0.1:8080');
    expect(config.concurrency).toBe(2);
    expect(config.media).toEqual({ address: '127.0.0.1', portMin: 44000, portMax: 44999 });
  });

  it('takes a media address and ports for a recorder on another host than the bridge', () => {
    const config = loadRecorderConfig({ RECORDER_MEDIA_ADDRESS: '10.0.0.7', RECORDER_RTP_PORT_MIN: '50000', RECORDER_RTP_PORT_MAX: '50099' });
    expect(config.media).toEqual({ address: '10.0.0.7', portMin: 50000, portMax: 50099 });
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
