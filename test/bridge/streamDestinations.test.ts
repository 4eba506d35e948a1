// Where a recording may stream, and when one may start, against a real bridge
// and Redis: REST and signaling both refuse a destination STREAM_ALLOWED_HOSTS
// does not allow (with the reason) and a room nobody is in, and queue nothing
// then; an allowed destination reaches the queue. A stand-in worker on the
// recording queue takes the jobs (the bridge queues only while one listens).
import { Queue, Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingError } from '../../protocol/SignalingClient.ts';
import { RECORDING_QUEUE, type RecordingJob } from '../../queue/recordingJob.ts';
import { startBridge } from '../helpers/bridge.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { TestRedis } from '../helpers/redis.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const ROOM = 'broadcast';
const NGINX = 'rtmp://127.0.0.1:1935/live/secret-key';
const LOOPBACK_REFUSED = 'stream host 127.0.0.1 is a loopback address; add it to STREAM_ALLOWED_HOSTS to stream there';

describe('stream destinations and recording preconditions', () => {
  let redis: TestRedis;
  let queue: Queue;
  let worker: Worker;
  /** Jobs the stand-in worker took, by id. */
  const taken = new Map<string, RecordingJob>();
  let release: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const bridges: Bridge[] = [];
  const peers: Joined[] = [];

  /** Every job the queue holds, in any state. */
  const jobCount = async () => Object.values(await queue.getJobCounts()).reduce((sum, n) => sum + n, 0);

  /** A bridge with `env`, and a participant in ROOM on it. */
  async function bridgeWithRoom(env: Record<string, string>): Promise<{ bridge: Bridge; host: Joined }> {
    const bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, ...env });
    bridges.push(bridge);
    const host = await joinRoom(bridge.url, ROOM, 'Host', 'web');
    peers.push(host);
    return { bridge, host };
  }

  beforeAll(async () => {
    redis = await TestRedis.start();
    queue = new Queue(RECORDING_QUEUE, { connection: { url: redis.url } });
    worker = new Worker(
      RECORDING_QUEUE,
      async (job: Job<RecordingJob>) => {
        taken.set(job.id!, job.data);
        await released;
      },
      { connection: { url: redis.url, maxRetriesPerRequest: null }, concurrency: 10 },
    );
    await worker.waitUntilReady();
  });

  afterAll(async () => {
    for (const peer of peers) peer.client.close();
    for (const bridge of bridges) await bridge.stop();
    release();
    await worker?.close();
    await queue?.close();
    await redis?.stop();
  });

  describe('with no STREAM_ALLOWED_HOSTS', () => {
    let bridge: Bridge;
    let host: Joined;
    beforeAll(async () => ({ bridge, host } = await bridgeWithRoom({})));
    // Gone before the next bridge opens ROOM: bridges sharing a Redis share its room directory,
    // and ROOM would otherwise be sent (joins and REST) to this one, which refuses the stream.
    afterAll(async () => {
      host.client.close();
      peers.splice(peers.indexOf(host), 1);
      bridges.splice(bridges.indexOf(bridge), 1);
      await bridge.stop();
    });

    it('refuses a loopback destination over REST (403, with the reason) and queues nothing', async () => {
      const before = await jobCount();
      const response = await recordingsApi(bridge.url, ROOM).post({ file: true, streams: [NGINX] });
      expect(response.status).toBe(403);
      const { error } = (await response.json()) as { error: string };
      expect(error).toBe(LOOPBACK_REFUSED);
      expect(error).not.toContain('secret-key'); // the stream key is a secret
      expect(await jobCount()).toBe(before);
    });

    it('refuses it over signaling (forbidden, with the reason) and queues nothing', async () => {
      const before = await jobCount();
      const refusal = await host.client.request('startRecording', { file: false, streams: [NGINX] }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(SignalingError);
      expect((refusal as SignalingError).code).toBe('forbidden');
      expect((refusal as SignalingError).message).toBe(`startRecording: ${LOOPBACK_REFUSED}`);
      expect(await jobCount()).toBe(before);
    });

    it('resolves a name and judges the addresses it resolves to', async () => {
      const response = await recordingsApi(bridge.url, ROOM).post({ file: false, streams: ['rtmp://localhost/live/key'] });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toMatch(/^stream host localhost \((127\.0\.0\.1|::1)\) is a loopback address/);
    });

    it('refuses a recording of a room nobody is in, and of a room everyone has left (404)', async () => {
      const before = await jobCount();
      const empty = await recordingsApi(bridge.url, 'nobody-here').post({ file: true });
      expect(empty.status).toBe(404);
      expect(await empty.json()).toEqual({ error: 'no live room nobody-here' });

      const visitor = await joinRoom(bridge.url, 'left-behind', 'Visitor', 'web');
      visitor.client.close();
      await waitFor('the room to close', () => !bridge.registry.get('left-behind'), 5000);
      const left = await recordingsApi(bridge.url, 'left-behind').post({ file: true });
      expect(left.status).toBe(404);
      expect(await left.json()).toEqual({ error: 'no live room left-behind' });
      expect(await jobCount()).toBe(before);
    });
  });

  describe('with STREAM_ALLOWED_HOSTS=127.0.0.1', () => {
    let bridge: Bridge;
    let host: Joined;
    beforeAll(async () => ({ bridge, host } = await bridgeWithRoom({ STREAM_ALLOWED_HOSTS: '127.0.0.1' })));

    it('queues a stream to it, over REST and over signaling', async () => {
      const overRest = await recordingsApi(bridge.url, ROOM).start({ file: false, streams: [NGINX] });
      const { recording: overSignaling } = await host.client.request('startRecording', { file: false, streams: [NGINX] });
      for (const { id } of [overRest, overSignaling]) {
        const job = await waitFor(`job ${id} taken`, () => taken.get(id), 10_000);
        expect(job).toMatchObject({ room: ROOM, outputs: { streams: [{ url: NGINX }] } });
      }
    });

    it('still refuses what it does not list, and then queues none of the request', async () => {
      const before = await jobCount();
      const response = await recordingsApi(bridge.url, ROOM).post({ file: true, streams: [NGINX, 'rtmp://10.20.30.40/live/key'] });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: 'stream host 10.20.30.40 is a private address; add it to STREAM_ALLOWED_HOSTS to stream there' });
      expect(await jobCount()).toBe(before);
    });
  });
});
