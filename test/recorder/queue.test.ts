// The recording queue and its workers against a real Redis and bridge, with
// audio-only jobs (cheap: no browser) of a room where a plain-RTP phone
// talks: bad requests and job data, Redis down and restarted, a worker killed
// with -9 whose job another worker takes over.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { RecordingFile, RecordingInfo } from '../../bridge/protocol.ts';
import { RECORDING_QUEUE, recordingResultSchema } from '../../queue/recordingJob.ts';
import { startBridge } from '../helpers/bridge.ts';
import { codecs, probe } from '../helpers/media.ts';
import { spawnRecorder, startRecorder } from '../helpers/recorder.ts';
import { TestRedis } from '../helpers/redis.ts';
import { joinRoom, PCMU, produceFromSocket } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

describe('recording queue and workers', () => {
  let redis: TestRedis;
  let bridge: Bridge;
  let phone: Awaited<ReturnType<typeof joinRoom>>;
  let sender: Awaited<ReturnType<typeof produceFromSocket>>['sender'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recordings-'));
  const room = 'queue-room';
  const api = (suffix = '') => `${bridge.url}/api/rooms/${room}/recordings${suffix}`;
  const post = (body: unknown) => fetch(api(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const listing = async () => (await (await fetch(api())).json()) as { current: RecordingInfo[]; files: RecordingFile[] };

  beforeAll(async () => {
    redis = await TestRedis.start();
    bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: dir });
    phone = await joinRoom(bridge.url, room, 'Phone 1');
    ({ sender } = await produceFromSocket(phone, PCMU, 4242));
  });

  afterAll(async () => {
    sender?.close();
    phone?.client.close();
    await bridge?.stop();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad requests with errors that say what is wrong', async () => {
    const badUrl = await post({ streams: ['http://a.rtmp.youtube.com/live2/key'] });
    expect(badUrl.status).toBe(400);
    expect(((await badUrl.json()) as { message: string }).message).toMatch(/rtmp:\/\/ or rtmps:\/\//);
    const nothing = await post({ file: false });
    expect(nothing.status).toBe(400);
    expect(((await nothing.json()) as { message: string }).message).toMatch(/a file, a stream, or both/);
    const noRecorder = await post({ audioOnly: true });
    expect(noRecorder.status).toBe(503);
    expect(await noRecorder.json()).toEqual({ error: 'no recorder available: start a recorder worker against this Redis' });
  });

  it('fails a job with bad data at once, without retrying it, and goes on working', async () => {
    const recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir });
    const queue = new Queue(RECORDING_QUEUE, { connection: { url: redis.url } });
    try {
      // As another producer might enqueue it: a room name that is a path, a stream that is not RTMP.
      const job = await queue.add('record', { room: '../../etc', outputs: { streams: [{ url: 'file:///etc/passwd' }] } }, { attempts: 3 });
      const failed = await waitFor('the bad job to fail', async () => ((await job.isFailed()) ? ((await queue.getJob(job.id!)) as Job) : null), 10_000, 100);
      expect(failed.failedReason).toMatch(/^invalid recording job: room: .*; outputs\.streams\.0\.url: expected an rtmp:\/\/ or rtmps:\/\/ URL/);
      expect(failed.attemptsMade).toBe(1);
      // The same worker then records a good job.
      const good = await post({ audioOnly: true });
      const { recording } = (await good.json()) as { recording: RecordingInfo };
      await waitFor('the good job to run', async () => (await listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 15_000, 100);
      expect((await fetch(api(`/${recording.id}`), { method: 'DELETE' })).status).toBe(204);
      await waitFor('its file', async () => (await listing()).files.some((f) => f.id === recording.id), 15_000, 200);
    } finally {
      await queue.close();
      await recorder.worker.stop();
    }
  });

  it('answers 503 quickly while Redis is down, and records through a Redis restart without losing the job', async () => {
    const recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir });
    try {
      const { recording } = (await (await post({ audioOnly: true })).json()) as { recording: RecordingInfo };
      await waitFor('recording', async () => (await listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 15_000, 100);
      const startedAt = Date.now();

      await redis.kill();
      const asked = Date.now();
      const refused = await post({ audioOnly: true });
      expect(Date.now() - asked).toBeLessThan(5000);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toMatch(new RegExp(`^recording queue unavailable: Redis at 127\\.0\\.0\\.1:${redis.port}`));
      await new Promise((resolve) => setTimeout(resolve, 2000)); // Redis stays down a while, not a check
      await redis.restart();

      // The job survived in Redis's append-only file; the worker, reconnected, still holds it.
      await waitFor('the job to be known again', async () => (await fetch(api(`/${recording.id}`), { method: 'DELETE' })).status === 204, 20_000, 500);
      const recordedFor = (Date.now() - startedAt) / 1000;
      const file = await waitFor('the file', async () => (await listing()).files.find((f) => f.id === recording.id), 20_000, 200);
      expect(file).toMatchObject({ stopReason: 'stopped', parts: 1 });
      const probed = await probe(path.join(dir, room, file.name));
      expect(codecs(probed)).toEqual(['audio:aac']);
      // Capture never paused for Redis: the file covers the whole time.
      expect(Number(probed.format.duration)).toBeGreaterThan(recordedFor - 1.5);
    } finally {
      await recorder.worker.stop();
    }
  }, 90_000);

  it('gives the job of a worker killed with -9 to another worker, which joins the parts', async () => {
    const lock = { RECORDER_LOCK_SECONDS: '2' };
    const first: ChildProcess = await spawnRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: lock });
    let second: Awaited<ReturnType<typeof startRecorder>> | undefined;
    try {
      const { recording } = (await (await post({ audioOnly: true })).json()) as { recording: RecordingInfo };
      await waitFor('recording in the first worker', async () => (await listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 15_000, 100);
      await new Promise((resolve) => setTimeout(resolve, 3000)); // part 1's length, not a check
      first.kill('SIGKILL');
      second = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: lock });
      await waitFor(
        'the second worker to take the job over',
        async () => (await listing()).current.some((r) => r.id === recording.id && r.state === 'active' && r.parts === 2),
        30_000,
        200,
      );
      await new Promise((resolve) => setTimeout(resolve, 2000)); // part 2's length, not a check
      expect((await fetch(api(`/${recording.id}`), { method: 'DELETE' })).status).toBe(204);
      const file = await waitFor('the joined file', async () => (await listing()).files.find((f) => f.id === recording.id), 20_000, 200);
      expect(file.parts).toBe(2);
      expect(file.errors.join('\n')).toMatch(/recorder worker stopped unexpectedly; recording resumed \(attempt 1\)/);
      const probed = await probe(path.join(dir, room, file.name));
      expect(codecs(probed)).toEqual(['audio:aac']);
      // Part 1 (~3 s, up to its last fragment) and part 2 (~2 s) are both in it.
      expect(Number(probed.format.duration)).toBeGreaterThan(3.5);
      const metadata = recordingResultSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, room, file.name.replace(/\.m4a$/, '.json')), 'utf8')));
      expect(metadata.parts.map((p) => p.endedBy)).toEqual(['the recorder worker died', 'stopped']);
    } finally {
      first.kill('SIGKILL');
      await second?.worker.stop();
    }
  }, 90_000);

  it('stops by itself when nobody sends media for a while, and when the room empties', async () => {
    const recorder = await startRecorder({
      bridgeUrl: bridge.url,
      redisUrl: redis.url,
      dir,
      env: { RECORDER_NO_MEDIA_TIMEOUT_SECONDS: '5', RECORDER_EMPTY_TIMEOUT_SECONDS: '2' },
    });
    const other = await joinRoom(bridge.url, 'quiet-room', 'Phone 2');
    try {
      const { producerId } = await produceFromSocket(other, PCMU, 4343);
      const start = async () => {
        const response = await fetch(`${bridge.url}/api/rooms/quiet-room/recordings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ audioOnly: true }),
        });
        return ((await response.json()) as { recording: RecordingInfo }).recording;
      };
      const stoppedBy = (id: string) =>
        waitFor(`recording ${id} to stop by itself`, async () => {
          const { files } = (await (await fetch(`${bridge.url}/api/rooms/quiet-room/recordings`)).json()) as { files: RecordingFile[] };
          return files.find((f) => f.id === id)?.stopReason;
        }, 20_000, 200);

      // Everyone muted: no media.
      await other.client.request('setProducerPaused', { producerId, paused: true });
      const quiet = await start();
      expect(await stoppedBy(quiet.id)).toBe('noMedia');

      // Speaking again, then gone: the room is empty.
      await other.client.request('setProducerPaused', { producerId, paused: false });
      const lonely = await start();
      await waitFor('recording', async () => (await fetch(`${bridge.url}/api/rooms/quiet-room/recordings`).then((r) => r.json()) as { current: RecordingInfo[] }).current.some((r) => r.id === lonely.id && r.state === 'active'), 15_000, 100);
      other.client.close();
      expect(await stoppedBy(lonely.id)).toBe('roomEmpty');
    } finally {
      other.client.close();
      await recorder.worker.stop();
    }
  }, 60_000);

  it('ends at the maximum duration asked for, reports bytes and fps meanwhile, and hands the file to the finalize hook', async () => {
    // The operator's upload hook: copies the file it is given and says where from.
    const hook = path.join(dir, 'upload.sh');
    const uploaded = path.join(dir, 'uploaded.m4a');
    fs.writeFileSync(hook, `#!/bin/sh\ncp "$1" '${uploaded}' && echo "uploaded $1"\n`, { mode: 0o755 });
    const recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: { RECORDER_FINALIZE_HOOK: hook } });
    try {
      const tooShort = await post({ audioOnly: true, maxDurationSeconds: 1 });
      expect(tooShort.status).toBe(400);
      expect(((await tooShort.json()) as { message: string }).message).toMatch(/maxDurationSeconds/);

      const { recording } = (await (await post({ audioOnly: true, maxDurationSeconds: 6 })).json()) as { recording: RecordingInfo };
      const running = await waitFor('progress with bytes', async () => (await listing()).current.find((r) => r.id === recording.id && r.bytes > 0 && r.fps > 0), 15_000, 200);
      // 50 mixed 20 ms frames a second.
      expect(running.fps).toBeGreaterThan(40);
      expect(running.fps).toBeLessThan(60);
      const file = await waitFor('the file', async () => (await listing()).files.find((f) => f.id === recording.id), 20_000, 200);
      expect(file.stopReason).toBe('maxDuration');
      expect(file.durationSeconds).toBeGreaterThan(5.5);
      expect(file.durationSeconds).toBeLessThan(7);
      const recorded = path.join(dir, room, file.name);
      expect(Number((await probe(recorded)).format.duration)).toBeGreaterThan(5);

      const metadataFile = recorded.replace(/\.m4a$/, '.json');
      const metadata = await waitFor('the hook to run', async () => recordingResultSchema.parse(JSON.parse(fs.readFileSync(metadataFile, 'utf8'))).finalizeHook, 15_000, 200);
      expect(metadata).toEqual({ command: hook, exitCode: 0, output: `uploaded ${recorded}\n` });
      expect(fs.statSync(uploaded).size).toBe(fs.statSync(recorded).size);
    } finally {
      await recorder.worker.stop();
    }
  }, 60_000);
});
