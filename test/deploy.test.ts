import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

const SECRET = 'a-secret-for-the-test';

function compose(env: NodeJS.ProcessEnv) {
  return spawnSync('docker-compose', ['config'], { encoding: 'utf8', env });
}

/** The resolved compose file, with the secret given and every optional variable at its default. */
function resolvedConfig(): string {
  const { RECORDER_CONCURRENCY: _concurrency, ...env } = process.env;
  const result = compose({ ...env, SERVICE_SECRET: SECRET });
  expect(result.error).toBeUndefined();
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  return result.stdout;
}

/** One service's lines in `docker-compose config` output (services at 2 spaces, their keys at 4). */
function service(config: string, name: string): string {
  const block = config.match(new RegExp(`^ {2}${name}:\\n((?: {4}.*\\n|\\n)*)`, 'm'))?.[1];
  expect(block, `service ${name}`).toBeDefined();
  return block!;
}

/** Where a service mounts the named volume, and its RECORDINGS_DIR. */
function recordingsMount(block: string): { mountedAt: string | undefined; dir: string | undefined } {
  return {
    mountedAt: block.match(/^ {4}- recordings:([^:\s]+)(?::rw)?$/m)?.[1],
    dir: block.match(/^ {6}RECORDINGS_DIR: (\S+)$/m)?.[1],
  };
}

describe('deployment files', () => {
  it('docker-compose.yml is valid and runs redis, drachtio-server and the app services from the Dockerfile', () => {
    const config = resolvedConfig();
    expect(config).toMatch(/^ {2}redis:$/m);
    expect(config).toMatch(/^ {2}bridge:$/m);
    // The gateway drives a real drachtio-server in the split deployment.
    expect(config).toMatch(/^ {2}drachtio:$/m);
    expect(config).toMatch(/^ {2}gateway:$/m);
    expect(config).toMatch(/^ {2}recorder:$/m);
    expect(config).toMatch(/DRACHTIO_HOST: 127\.0\.0\.1/);
    expect(config).toMatch(/build:\n\s+context: /);
    expect(fs.readFileSync('Dockerfile', 'utf8')).toMatch(/^CMD \["npm", "start"\]$/m);
    // The bridge and its services (gateway, recorder) share a secret; compose refuses to run without one.
    expect(config.match(new RegExp(`SERVICE_SECRET: ${SECRET}$`, 'gm'))).toHaveLength(3);
    const { SERVICE_SECRET: _unset, ...withoutSecret } = process.env;
    const refused = compose(withoutSecret);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('SERVICE_SECRET');
  });

  it('records: the bridge queues on the redis service, and recorder workers scale against it, sharing the recordings volume', () => {
    const config = resolvedConfig();
    const bridge = service(config, 'bridge');
    const recorder = service(config, 'recorder');

    // Both reach the redis service on the host network (it publishes to loopback).
    expect(service(config, 'redis')).toMatch(/published: 6379|127\.0\.0\.1:6379:6379/);
    expect(bridge).toMatch(/^ {6}REDIS_URL: redis:\/\/127\.0\.0\.1:6379$/m);
    expect(recorder).toMatch(/^ {6}REDIS_URL: redis:\/\/127\.0\.0\.1:6379$/m);
    expect(recorder).toMatch(/^ {6}BRIDGE_URL: http:\/\/127\.0\.0\.1:8080$/m);
    expect(recorder).toMatch(new RegExp(`^ {6}SERVICE_SECRET: ${SECRET}$`, 'm'));
    expect(recorder).toMatch(/^ {6}RECORDER_CONCURRENCY: '2'$/m);
    expect(recorder).toMatch(/^ {4}command:\n {4}- node\n {4}- recorder\/main\.ts$/m);
    expect(recorder).toMatch(/^ {4}image: telebridge:latest$/m);
    expect(recorder).toMatch(/^ {4}shm_size: /m);

    // `docker-compose up --scale recorder=N`: no fixed name, no host ports.
    expect(recorder).not.toMatch(/container_name:/);
    expect(recorder).not.toMatch(/^ {4}ports:/m);

    // What recorders write, the bridge lists and serves: one volume, one path.
    const written = recordingsMount(recorder);
    const served = recordingsMount(bridge);
    expect(written.mountedAt).toBeDefined();
    expect(written).toEqual({ mountedAt: written.mountedAt, dir: written.mountedAt });
    expect(served).toEqual(written);

    // The image has what a recording runs.
    const apt = fs.readFileSync('Dockerfile', 'utf8').match(/apt-get install[^&]*/)?.[0] ?? '';
    for (const pkg of ['chromium', 'ffmpeg', 'xvfb', 'pulseaudio']) expect(apt.split(/\s+/)).toContain(pkg);
  });

  it('runs a further bridge on another host from the same file, sharing the first host\'s Redis (password, private address)', () => {
    const { RECORDER_CONCURRENCY: _concurrency, ...env } = process.env;
    const further = {
      REDIS_URL: 'redis://:a-redis-password@198.18.0.1:6379',
      BRIDGE_ID: 'bridge-2',
      BRIDGE_PUBLIC_URL: 'https://b2.example.com',
      BRIDGE_CAPACITY: '300',
    };
    const result = compose({ ...env, SERVICE_SECRET: SECRET, ...further, REDIS_PASSWORD: 'a-redis-password', REDIS_BIND: '198.18.0.1' });
    expect(result.status, result.stderr).toBe(0);
    const bridge = service(result.stdout, 'bridge');
    for (const [name, value] of Object.entries(further)) expect(bridge).toMatch(new RegExp(`^ {6}${name}: '?${value.replace(/[.:/]/g, '\\$&')}'?$`, 'm'));
    // Recorders on any host take jobs from the same Redis.
    expect(service(result.stdout, 'recorder')).toMatch(/^ {6}REDIS_URL: redis:\/\/:a-redis-password@198\.18\.0\.1:6379$/m);
    // The first host's Redis listens where the others reach it, and asks for the password.
    const redis = service(result.stdout, 'redis');
    expect(redis).toMatch(/^ {6}REDIS_PASSWORD: a-redis-password$/m);
    expect(redis).toMatch(/198\.18\.0\.1:6379:6379/);
  });
});
