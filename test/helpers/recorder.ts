import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createLogger } from '../../common/logger.ts';
import { loadRecorderConfig } from '../../recorder/config.ts';
import { RecorderWorker } from '../../recorder/RecorderWorker.ts';
import { TEST_SERVICE_SECRET } from './bridge.ts';
import { waitFor } from './wait.ts';

export interface RecorderSetup {
  bridgeUrl: string;
  redisUrl: string;
  /** Defaults to a fresh temporary directory. */
  dir?: string;
  env?: Record<string, string>;
}

function recorderEnv({ bridgeUrl, redisUrl, dir, env }: RecorderSetup & { dir: string }): Record<string, string> {
  return {
    BRIDGE_URL: bridgeUrl,
    REDIS_URL: redisUrl,
    RECORDINGS_DIR: dir,
    SERVICE_SECRET: TEST_SERVICE_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...env,
  };
}

/** A recorder worker in this process. */
export async function startRecorder(setup: RecorderSetup): Promise<{ worker: RecorderWorker; dir: string }> {
  const dir = setup.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'recordings-'));
  const config = loadRecorderConfig(recorderEnv({ ...setup, dir }));
  const worker = new RecorderWorker(config, createLogger(config.logLevel, 'recorder'));
  await worker.ready();
  return { worker, dir };
}

/** A recorder worker as its own process (`node recorder/main.ts`), to be killed like a real one. */
export async function spawnRecorder(setup: RecorderSetup & { dir: string }): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['recorder/main.ts'], {
    env: { ...process.env, ...recorderEnv(setup), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let ready = false;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let record: { level?: number; msg?: string } = { level: 50 }; // a line that is not a log record is shown
    try {
      record = JSON.parse(line) as typeof record;
    } catch {}
    const { level = 0, msg } = record;
    if (msg === 'recorder waiting for jobs') ready = true;
    // Its warnings and errors show in the test output, like those of the in-process workers.
    if (level >= 40) process.stdout.write(`${line}\n`);
  });
  await waitFor('the recorder process to listen for jobs', () => ready, 20_000);
  return child;
}
