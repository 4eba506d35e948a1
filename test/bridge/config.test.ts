import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configError as expectConfigError } from '../helpers/config.ts';
import { loadBridgeConfig } from '../../bridge/config.ts';

const configError = (env: Record<string, string>) => expectConfigError(loadBridgeConfig, env);

describe('bridge configuration', () => {
  it('has all-in-one defaults', () => {
    const config = loadBridgeConfig({});
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.media.workers).toBe(os.availableParallelism());
    // Media ports below Linux's ephemeral range (32768-60999), which outgoing sockets draw from.
    expect(config.media.portBase).toBe(10000);
    expect(config.media.plainPortRange).toEqual({ min: 11000, max: 11999 });
    expect(config.media.announcedAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('announces the listen address when it is specific, or the configured one', () => {
    expect(loadBridgeConfig({ MEDIA_LISTEN_IP: '127.0.0.1' }).media.announcedAddress).toBe('127.0.0.1');
    expect(loadBridgeConfig({ MEDIA_ANNOUNCED_ADDRESS: 'media.example.com' }).media.announcedAddress).toBe('media.example.com');
  });

  it('names every bad setting and the value it got', () => {
    const message = configError({ HTTP_PORT: 'eighty', MEDIA_WORKERS: '0', MEDIA_LISTEN_IP: 'localhost', LOG_LEVEL: 'loud' });
    expect(message).toContain('HTTP_PORT');
    expect(message).toContain('"eighty"');
    expect(message).toContain('MEDIA_WORKERS');
    expect(message).toContain('MEDIA_LISTEN_IP');
    expect(message).toContain('LOG_LEVEL');
  });

  it('names a bad secret without its value', () => {
    const message = configError({ SERVICE_SECRET: 'hunter2' });
    expect(message).toContain('SERVICE_SECRET: at least 16 characters (value not shown)');
    expect(message).not.toContain('hunter2');
    // A password inside a URL setting too.
    const url = configError({ REDIS_URL: 'http://:hunter2@redis.example:6379' });
    expect(url).toContain('REDIS_URL');
    expect(url).not.toContain('hunter2');
  });

  it('refuses port ranges that collide or run past 65535', () => {
    expect(configError({ MEDIA_PORT_BASE: '11000', MEDIA_WORKERS: '2' })).toContain('overlap');
    expect(configError({ MEDIA_PLAIN_PORT_MIN: '12000', MEDIA_PLAIN_PORT_MAX: '11000' })).toContain('MEDIA_PLAIN_PORT_MIN');
    expect(configError({ MEDIA_PORT_BASE: '65535', MEDIA_WORKERS: '4' })).toContain('MEDIA_PORT_BASE');
  });

  it('checks signaling liveness: the defaults, and a timeout too short for the ping interval', () => {
    expect(loadBridgeConfig({}).signaling).toMatchObject({ liveness: { pingIntervalMs: 10_000, timeoutMs: 30_000 }, joinDeadlineMs: 10_000 });
    expect(loadBridgeConfig({ SIGNALING_PING_INTERVAL_MS: '200', SIGNALING_PEER_TIMEOUT_MS: '400' }).signaling.liveness).toEqual({
      pingIntervalMs: 200,
      timeoutMs: 400,
    });
    const message = configError({ SIGNALING_PING_INTERVAL_MS: '20000' });
    expect(message).toContain('SIGNALING_PEER_TIMEOUT_MS');
    expect(message).toContain('at least twice the ping interval');
    expect(configError({ SIGNALING_JOIN_DEADLINE_MS: '0' })).toContain('SIGNALING_JOIN_DEADLINE_MS');
  });

  it('reads STREAM_ALLOWED_HOSTS (none by default) and names the setting and the entry it cannot read', () => {
    expect(loadBridgeConfig({}).streamAllowedHosts).toEqual([]);
    expect(loadBridgeConfig({ STREAM_ALLOWED_HOSTS: ' ingest.example.com, *.live.example, 127.0.0.1,10.0.0.0/8 ' }).streamAllowedHosts.map((p) => p.kind)).toEqual([
      'name',
      'suffix',
      'range',
      'range',
    ]);
    const message = configError({ STREAM_ALLOWED_HOSTS: '127.0.0.1,rtmp://ingest.example.com/live' });
    expect(message).toContain('STREAM_ALLOWED_HOSTS');
    expect(message).toContain('"rtmp://ingest.example.com/live" is a URL; list its host alone');
    expect(configError({ STREAM_ALLOWED_HOSTS: '10.0.0.0/33' })).toContain('"10.0.0.0/33" is not a CIDR range');
  });

  it('reads BRIDGE_CA_FILE and BRIDGE_TLS_INSECURE, its trust in the other bridges, and refuses a CA file that is missing or holds no PEM certificate', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-config-'));
    try {
      const ca = path.join(dir, 'ca.pem');
      fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      expect(loadBridgeConfig({}).bridgeTrust).toEqual({ caFile: undefined, insecure: false });
      expect(loadBridgeConfig({ BRIDGE_CA_FILE: ca, BRIDGE_TLS_INSECURE: 'true' }).bridgeTrust).toEqual({ caFile: ca, insecure: true });
      expect(configError({ BRIDGE_CA_FILE: path.join(dir, 'missing.pem') })).toMatch(/BRIDGE_CA_FILE: no readable PEM certificate file there/);
      const key = path.join(dir, 'key.pem');
      fs.writeFileSync(key, '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n');
      expect(configError({ BRIDGE_CA_FILE: key })).toMatch(/BRIDGE_CA_FILE: no readable PEM certificate file there/);
      expect(configError({ BRIDGE_TLS_INSECURE: 'maybe' })).toMatch(/BRIDGE_TLS_INSECURE/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Loading the whole bridge takes about a second, many more on a busy machine: the
  // test waits as long as the child may run, not the unit project's 5 s.
  const STARTUP_MS = 20_000;

  it('stops the process at startup with a message naming the setting', () => {
    const result = spawnSync(process.execPath, ['bridge/main.ts'], {
      env: { ...process.env, HTTP_PORT: '99999' },
      encoding: 'utf8',
      timeout: STARTUP_MS,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('HTTP_PORT');
    expect(result.stderr).toContain('99999');
  }, STARTUP_MS);
});
