import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('deployment files', () => {
  it('docker-compose.yml is valid and runs redis and the app from the Dockerfile', () => {
    const result = spawnSync('docker-compose', ['config'], { encoding: 'utf8' });
    expect(result.error).toBeUndefined();
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^ {2}redis:$/m);
    expect(result.stdout).toMatch(/^ {2}bridge:$/m);
    expect(result.stdout).toMatch(/build:\n\s+context: /);
    expect(fs.readFileSync('Dockerfile', 'utf8')).toMatch(/^CMD \["npm", "start"\]$/m);
  });
});
