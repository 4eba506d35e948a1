// The recording queue and its workers against a real Redis and bridge, in a
// room where a plain-RTP phone talks, mostly with audio-only jobs (cheap: no
// browser): bad requests and job data, Redis down and restarted, stop
// conditions, and a worker killed with -9 (audio-only and composite) whose job
// another worker takes over.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { RECORDING_QUEUE, recordingResultSchema } from '../../queue/recordingJob.ts';
import { isRunning } from '../../recorder/capture/processes.ts';
import { startBridge } from '../helpers/bridge.ts';
import { codecs, probe } from '../helpers/media.ts';
import { spawnRecorder, startRecorder } from '../helpers/recorder.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { TestRedis } from '../helpers/redis.ts';
import { joinRoom, PCMU, produceFromSocket } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** The PIDs of a process's children running `command`. */
function childrenNamed(parent: number, command: string): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['--ppid', String(parent), '-o', 'pid=,comm='], { encoding: 'utf8' }).trim();
  } catch {
    return []; // ps exits with 1 when there is none
  }
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, name]) => name === command)
    .map(([pid]) => Number(pid));
}

/** A Redis, a bridge recording into `dir`, and a plain-RTP phone talking in `room`. */
async function phoneRoom(room: string, dir: string) {
  const redis = await TestRedis.start();
  const bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: dir });
  const phone = await joinRoom(bridge.url, room, 'Phone 1');
  const { sender } = await produceFromSocket(phone, PCMU, 4242);
  return {
    redis,
    bridge,
    api: recordingsApi(bridge.url, room),
    async stop() {
      sender.close();
      phone.client.close();
      await bridge.stop();
      await redis.stop();
    },
  };
}

describe('recording queue and workers', () => {
  let setup: Awaited<ReturnType<typeof phoneRoom>>;
  let redis: TestRedis;
  let bridge: Bridge;
  let api: ReturnType<typeof recordingsApi>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recordings-'));
  const room = 'queue-room';

  beforeAll(async () => {
    setup = await phoneRoom(room, dir);
    ({ redis, bridge, api } = setup);
  });

  afterAll(async () => {
    await setup?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad requests with errors that say what is wrong', async () => {
    const badUrl = await api.post({ streams: ['http://a.rtmp.youtube.com/live2/key'] });
    expect(badUrl.status).toBe(400);
    expect(((await badUrl.json()) as { message: string }).message).toMatch(/rtmp:\/\/ or rtmps:\/\//);
    const nothing = await api.post({ file: false });
    expect(nothing.status).toBe(400);
    expect(((await nothing.json()) as { message: string }).message).toMatch(/a file, a stream, or both/);
    const noRecorder = await api.post({ audioOnly: true });
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
      const recording = await api.start({ audioOnly: true });
      await waitFor('the good job to run', async () => (await api.listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 15_000, 100);
      expect(await api.stop(recording.id)).toBe(204);
      await waitFor('its file', async () => (await api.listing()).files.some((f) => f.id === recording.id), 15_000, 200);
    } finally {
      await queue.close();
      await recorder.worker.stop();
    }
  });

  it('answers 503 quickly while Redis is down, and records through a Redis restart without losing the job', async () => {
    const recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir });
    try {
      const recording = await api.start({ audioOnly: true });
      await waitFor('recording', async () => (await api.listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 15_000, 100);
      const startedAt = Date.now();

      await redis.kill();
      const asked = Date.now();
      const refused = await api.post({ audioOnly: true });
      expect(Date.now() - asked).toBeLessThan(5000);
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toMatch(new RegExp(`^recording queue unavailable: Redis at 127\\.0\\.0\\.1:${redis.port}`));
      await new Promise((resolve) => setTimeout(resolve, 2000)); // Redis stays down a while, not a check
      await redis.restart();

      // The job survived in Redis's append-only file; the worker, reconnected, still holds it.
      await waitFor('the job to be known again', async () => (await api.stop(recording.id)) === 204, 20_000, 500);
      const recordedFor = (Date.now() - startedAt) / 1000;
      const file = await waitFor('the file', async () => (await api.listing()).files.find((f) => f.id === recording.id), 20_000, 200);
      expect(file).toMatchObject({ stopReason: 'stopped', parts: 1 });
      const probed = await probe(path.join(dir, room, file.name));
      expect(codecs(probed)).toEqual(['audio:aac']);
      // Capture never paused for Redis: the file covers the whole time.
      expect(Number(probed.format.duration)).toBeGreaterThan(recordedFor - 1.5);
    } finally {
      await recorder.worker.stop();
    }
  }, 90_000);

  it.each([
    { mode: 'audio-only', request: { audioOnly: true }, extension: '.m4a', streams: ['audio:aac'] },
    { mode: 'composite', request: { file: true }, extension: '.mp4', streams: ['audio:aac', 'video:h264'] },
  ])('gives the $mode job of a worker killed with -9 to another worker, which joins the parts; the dead one leaves no capture running', async ({ request, extension, streams }) => {
    // A Redis of its own: BullMQ's stalled-job check runs at most once per interval of whichever worker ran it
    // last, and the other tests' workers (30 s locks) would hold the takeover back by up to 30 s.
    const { redis, bridge, api, stop } = await phoneRoom(room, dir);
    const lock = { RECORDER_LOCK_SECONDS: '3' };
    let first: ChildProcess | undefined;
    let second: Awaited<ReturnType<typeof startRecorder>> | undefined;
    let encoders: number[] = [];
    try {
      first = await spawnRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: lock });
      const recording = await api.start(request);
      await waitFor('recording in the first worker', async () => (await api.listing()).current.some((r) => r.id === recording.id && r.state === 'active'), 45_000, 100);
      await new Promise((resolve) => setTimeout(resolve, 3000)); // part 1's length, not a check
      encoders = childrenNamed(first.pid!, 'ffmpeg');
      expect(encoders).toHaveLength(1);
      first.kill('SIGKILL');
      // Its encoder ends with it (and so does the Xvfb it kept up), instead of growing part 1 beside part 2.
      await waitFor('the dead worker\'s ffmpeg to end', () => encoders.every((pid) => !isRunning(pid)), 10_000, 100);
      if (first.exitCode === null && first.signalCode === null) await once(first, 'exit');
      // Its scratch directory (Chromium profile, sockets) is left behind, until a worker starts on this host.
      const scratch = () => fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`recorder-${first!.pid}-${recording.id}-`));
      expect(scratch()).toHaveLength(1);

      second = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir, env: lock });
      expect(scratch()).toEqual([]);
      await waitFor(
        'the second worker to take the job over',
        async () => (await api.listing()).current.some((r) => r.id === recording.id && r.state === 'active' && r.parts === 2),
        45_000,
        200,
      );
      await new Promise((resolve) => setTimeout(resolve, 2000)); // part 2's length, not a check
      expect(await api.stop(recording.id)).toBe(204);
      const file = await waitFor('the joined file', async () => (await api.listing()).files.find((f) => f.id === recording.id), 30_000, 200);
      expect(file.parts).toBe(2);
      expect(file.errors.join('\n')).toMatch(/recorder worker stopped unexpectedly; recording resumed \(attempt 1\)/);
      expect(file.name.endsWith(extension)).toBe(true);
      const probed = await probe(path.join(dir, room, file.name));
      expect(codecs(probed)).toEqual(streams);
      // Part 1 (~3 s, up to its last fragment) and part 2 (~2 s) are both in it.
      expect(Number(probed.format.duration)).toBeGreaterThan(3.5);
      const metadata = recordingResultSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, room, file.name.replace(extension, '.json')), 'utf8')));
      expect(metadata.parts.map((p) => p.endedBy)).toEqual(['the recorder worker died', 'stopped']);
    } finally {
      first?.kill('SIGKILL');
      for (const pid of encoders.filter(isRunning)) process.kill(pid, 'SIGKILL'); // left behind by a failure
      await second?.worker.stop();
      await stop();
    }
  }, 150_000);

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
      const quietRoom = recordingsApi(bridge.url, 'quiet-room');
      const start = () => quietRoom.start({ audioOnly: true });
      const stoppedBy = (id: string) =>
        waitFor(`recording ${id} to stop by itself`, async () => (await quietRoom.listing()).files.find((f) => f.id === id)?.stopReason, 20_000, 200);

      // Everyone muted: no media.
      await other.client.request('setProducerPaused', { producerId, paused: true });
      const quiet = await start();
      expect(await stoppedBy(quiet.id)).toBe('noMedia');

      // Speaking again, then gone: the room is empty.
      await other.client.request('setProducerPaused', { producerId, paused: false });
      const lonely = await start();
      await waitFor('recording', async () => (await quietRoom.listing()).current.some((r) => r.id === lonely.id && r.state === 'active'), 15_000, 100);
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
      const tooShort = await api.post({ audioOnly: true, maxDurationSeconds: 1 });
      expect(tooShort.status).toBe(400);
      expect(((await tooShort.json()) as { message: string }).message).toMatch(/maxDurationSeconds/);

      const recording = await api.start({ audioOnly: true, maxDurationSeconds: 6 });
      const running = await waitFor('progress with bytes', async () => (await api.listing()).current.find((r) => r.id === recording.id && r.bytes > 0 && r.fps > 0), 15_000, 200);
      // 50 mixed 20 ms frames a second.
      expect(running.fps).toBeGreaterThan(40);
      expect(running.fps).toBeLessThan(60);
      const file = await waitFor('the file', async () => (await api.listing()).files.find((f) => f.id === recording.id), 20_000, 200);
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
