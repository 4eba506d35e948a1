import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('deployment files', () => {
  it('docker-compose.yml is valid and runs redis, drachtio-server and the app services from the Dockerfile', () => {
    const compose = (env: NodeJS.ProcessEnv) => spawnSync('docker-compose', ['config'], { encoding: 'utf8', env });
    const result = compose({ ...process.env, SERVICE_SECRET: 'a-secret-for-the-test' });
    expect(result.error).toBeUndefined();
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ {2}redis:$/m);
    expect(result.stdout).toMatch(/^ {2}bridge:$/m);
    // The gateway drives a real drachtio-server in the split deployment.
    expect(result.stdout).toMatch(/^ {2}drachtio:$/m);
    expect(result.stdout).toMatch(/^ {2}gateway:$/m);
    expect(result.stdout).toMatch(/DRACHTIO_HOST: 127\.0\.0\.1/);
    expect(result.stdout).toMatch(/build:\n\s+context: /);
    expect(fs.readFileSync('Dockerfile', 'utf8')).toMatch(/^CMD \["npm", "start"\]$/m);
    // The bridge and its services share a secret; compose refuses to run without one.
    expect(result.stdout.match(/SERVICE_SECRET: a-secret-for-the-test/g)).toHaveLength(2);
    const { SERVICE_SECRET: _unset, ...withoutSecret } = process.env;
    const refused = compose(withoutSecret);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('SERVICE_SECRET');
  });
});
