// Where the room directory puts a new room (bridge/directory/placement.ts), and the settings of a bridge among several.
import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { chooseBridge, type BridgeRecord } from '../../bridge/directory/placement.ts';
import { configError } from '../helpers/config.ts';

const bridge = (id: string, load: number, capacity = 100): BridgeRecord => ({ id, url: `https://${id}.example.com`, load, capacity });

describe('chooseBridge', () => {
  it('takes the least loaded, relative to capacity', () => {
    expect(chooseBridge([bridge('a', 30), bridge('b', 10), bridge('c', 20)])?.id).toBe('b');
    // 40 of 400 is less loaded than 20 of 100.
    expect(chooseBridge([bridge('a', 20, 100), bridge('b', 40, 400)])?.id).toBe('b');
  });

  it('skips full bridges, and answers none when every bridge is full or none is live', () => {
    expect(chooseBridge([bridge('a', 100), bridge('b', 99)])?.id).toBe('b');
    expect(chooseBridge([bridge('a', 100), bridge('b', 150)])).toBeUndefined();
    expect(chooseBridge([])).toBeUndefined();
    // A record without a sensible capacity (0, or not a number) is never chosen.
    expect(chooseBridge([bridge('a', 0, 0), bridge('b', 0, Number.NaN)])).toBeUndefined();
  });

  it('places nothing on a draining bridge (it publishes capacity 0), however idle', () => {
    const draining = bridge('a', 0, 0);
    expect(chooseBridge([draining, bridge('b', 90), bridge('c', 95)], 'a')?.id).toBe('b');
    expect(chooseBridge([draining], 'a')).toBeUndefined();
  });

  it('breaks ties for the deciding bridge (no redirect), else by id', () => {
    const tied = [bridge('c', 5), bridge('a', 5), bridge('b', 5)];
    expect(chooseBridge(tied, 'b')?.id).toBe('b');
    expect(chooseBridge(tied)?.id).toBe('a');
    expect(chooseBridge(tied, 'elsewhere')?.id).toBe('a');
    // Preference does not beat a lighter bridge.
    expect(chooseBridge([bridge('a', 5), bridge('b', 4)], 'a')?.id).toBe('b');
  });
});

describe('a bridge among several: its settings', () => {
  const base = { MEDIA_ANNOUNCED_ADDRESS: '198.18.0.1', HTTP_ONLY: 'true' };

  it('is alone without REDIS_URL: no directory, and no new setting is required', () => {
    const config = loadBridgeConfig(base);
    expect(config.directory).toBeUndefined();
    expect(config.publicUrl).toBe('http://198.18.0.1:8080');
  });

  it('joins the directory with REDIS_URL, with defaults for the rest', () => {
    const config = loadBridgeConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(config.directory).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379', capacity: 1000, heartbeatMs: 2000 });
    expect(config.directory!.id).toMatch(/^[A-Za-z0-9._-]{1,64}$/);
    expect(loadBridgeConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379' }).directory!.id).not.toBe(config.directory!.id);
  });

  it('derives its public URL as it says to open it; BRIDGE_PUBLIC_URL overrides it', () => {
    expect(loadBridgeConfig({ MEDIA_ANNOUNCED_ADDRESS: 'fd00::5', HTTP_ONLY: 'true' }).publicUrl).toBe('http://[fd00::5]:8080');
    expect(loadBridgeConfig({ ...base, BRIDGE_PUBLIC_URL: 'https://b2.example.com/' }).publicUrl).toBe('https://b2.example.com');
    const named = loadBridgeConfig({ ...base, REDIS_URL: 'redis://r:6379', BRIDGE_ID: 'eu-1', BRIDGE_CAPACITY: '250', BRIDGE_HEARTBEAT_MS: '500' });
    expect(named.directory).toMatchObject({ id: 'eu-1', capacity: 250, heartbeatMs: 500 });
  });

  it('refuses bad values, naming the setting', () => {
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_PUBLIC_URL: 'javascript:alert(1)' })).toMatch(/BRIDGE_PUBLIC_URL.*http or https URL/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_PUBLIC_URL: `https://b.example.com/${'x'.repeat(600)}` })).toMatch(/BRIDGE_PUBLIC_URL/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_PUBLIC_URL: 'https://example.com/meet' })).toMatch(/BRIDGE_PUBLIC_URL.*without a path/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_ID: 'a b' })).toMatch(/BRIDGE_ID/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_ID: 'x'.repeat(65) })).toMatch(/BRIDGE_ID/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_CAPACITY: '0' })).toMatch(/BRIDGE_CAPACITY/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_HEARTBEAT_MS: '10' })).toMatch(/BRIDGE_HEARTBEAT_MS/);
  });

  it('drains for BRIDGE_DRAIN_TIMEOUT_SECONDS: 60 s by default (within systemd\'s 90 s stop timeout), an hour at most', () => {
    expect(loadBridgeConfig(base).drainTimeoutSeconds).toBe(60);
    expect(loadBridgeConfig({ ...base, BRIDGE_DRAIN_TIMEOUT_SECONDS: '0' }).drainTimeoutSeconds).toBe(0);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_DRAIN_TIMEOUT_SECONDS: '3601' })).toMatch(/BRIDGE_DRAIN_TIMEOUT_SECONDS/);
    expect(configError(loadBridgeConfig, { ...base, BRIDGE_DRAIN_TIMEOUT_SECONDS: 'soon' })).toMatch(/BRIDGE_DRAIN_TIMEOUT_SECONDS/);
  });
});
