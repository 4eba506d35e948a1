// The asking side of recordings: start, stop and read the status of jobs on
// the BullMQ queue, and hear every change (QueueEvents) as a RecordingInfo.
// Used by the bridge's REST and signaling; the worker side is recorder/.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../common/logger.ts';
import type { RecordingInfo } from '../protocol/protocol.ts';
import {
  RECORDING_QUEUE,
  recordingJobSchema,
  recordingProgressSchema,
  recordingResultSchema,
  redactStreamUrl,
  type RecordingJob,
  type RecordingJobInput,
} from './recordingJob.ts';
import { describeRedis, stopKey, withTimeout } from './redis.ts';

/** Redis cannot be reached, or no recorder worker is listening. */
export class RecordingUnavailableError extends Error {
  override name = 'RecordingUnavailableError';
}

const REDIS_TIMEOUT_MS = 3000;
/** A stop request outlives a job that is between attempts. */
const STOP_KEY_TTL_SECONDS = 24 * 3600;

interface RecordingQueueEvents {
  update: [RecordingInfo];
}

export class RecordingQueue extends EventEmitter<RecordingQueueEvents> {
  readonly #queue: Queue;
  readonly #events: QueueEvents;
  readonly #redis: Redis;
  readonly #where: string;
  readonly #logger: Logger;

  constructor(redisUrl: string, logger: Logger) {
    super();
    this.#where = describeRedis(redisUrl);
    this.#logger = logger;
    // While Redis is down, calls give up after REDIS_TIMEOUT_MS (see #redisCall) rather than wait for it.
    this.#redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    this.#redis.on('error', (error) => logger.debug({ err: error }, 'recording queue: redis error'));
    this.#queue = new Queue(RECORDING_QUEUE, { connection: this.#redis, skipWaitingForReady: true });
    this.#queue.on('error', (error) => logger.debug({ err: error }, 'recording queue error'));
    this.#events = new QueueEvents(RECORDING_QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: null } });
    this.#events.on('error', (error) => logger.debug({ err: error }, 'recording queue events error'));
    for (const event of ['waiting', 'active', 'progress', 'completed', 'failed', 'stalled', 'removed'] as const) {
      this.#events.on(event, ({ jobId }: { jobId: string }) => void this.#publish(jobId));
    }
  }

  /** Queues a recording; refuses when no recorder worker is connected. */
  async start(input: RecordingJobInput): Promise<RecordingInfo> {
    const data = recordingJobSchema.parse(input);
    return this.#redisCall(async () => {
      if ((await this.#queue.getWorkersCount()) === 0) {
        throw new RecordingUnavailableError('no recorder available: start a recorder worker against this Redis');
      }
      const job = await this.#queue.add('record', data, {
        jobId: randomUUID(),
        attempts: 3,
        backoff: { type: 'exponential', delay: 2000 },
        removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      });
      return toInfo(job, 'queued');
    });
  }

  /** Stops a recording: a queued one is dropped, a running one is told to finish. */
  async stop(id: string): Promise<RecordingInfo | null> {
    return this.#redisCall(async () => {
      const job = await Job.fromId(this.#queue, id);
      if (!job) return null;
      // The moment Stop was asked: the file ends there, not when the worker notices.
      await this.#redis.set(stopKey(id), String(Date.now()), 'EX', STOP_KEY_TTL_SECONDS);
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
        await job.remove();
        return toInfo(job, 'finished');
      }
      return toInfo(job, await this.#stateOf(job));
    });
  }

  async status(id: string): Promise<RecordingInfo | null> {
    return this.#redisCall(async () => {
      const job = await Job.fromId(this.#queue, id);
      return job ? toInfo(job, await this.#stateOf(job)) : null;
    });
  }

  /** Recordings queued or running, of one room or all. */
  async current(room?: string): Promise<RecordingInfo[]> {
    return this.#redisCall(async () => {
      const jobs = await this.#queue.getJobs(['active', 'waiting', 'delayed', 'prioritized']);
      return Promise.all(jobs.filter((job) => !room || job.data.room === room).map(async (job) => toInfo(job, await this.#stateOf(job))));
    });
  }

  /** Lets go of Redis; with Redis away, BullMQ's close would wait for it forever, so it is given REDIS_TIMEOUT_MS. */
  async close(): Promise<void> {
    await withTimeout(Promise.allSettled([this.#events.close(), this.#queue.close()]), REDIS_TIMEOUT_MS, 'closing the recording queue').catch(() => undefined);
    this.#redis.disconnect();
    // What BullMQ still holds (its own connections, reconnecting to a Redis that is gone) must not keep the process up.
    // Not awaited: with Redis gone, BullMQ's disconnect waits for it as its close did.
    for (const client of [this.#events, this.#queue]) client.disconnect().catch(() => undefined);
  }

  async #stateOf(job: Job): Promise<RecordingInfo['state']> {
    const state = await job.getState();
    if (state === 'completed') return 'finished';
    if (state === 'failed') return 'failed';
    if (state === 'active') return recordingProgressSchema.safeParse(job.progress).data?.state ?? 'starting';
    return 'queued';
  }

  async #publish(jobId: string): Promise<void> {
    try {
      const info = await this.status(jobId);
      if (info) this.emit('update', info);
    } catch (error) {
      this.#logger.warn({ err: error, jobId }, 'cannot read a recording job');
    }
  }

  /** Runs Redis work with a deadline, so a dead Redis is an error and never a hang. */
  async #redisCall<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(work(), REDIS_TIMEOUT_MS, `no answer from Redis at ${this.#where}`);
    } catch (error) {
      if (error instanceof RecordingUnavailableError) throw error;
      throw new RecordingUnavailableError(`recording queue unavailable: Redis at ${this.#where}: ${(error as Error).message}`);
    }
  }
}

function toInfo(job: Job, state: RecordingInfo['state']): RecordingInfo {
  const data = job.data as RecordingJob;
  const progress = recordingProgressSchema.safeParse(job.progress).data;
  const result = recordingResultSchema.safeParse(job.returnvalue).data;
  const source = result ?? progress;
  return {
    id: job.id!,
    room: data.room,
    mode: data.mode,
    state,
    file: data.outputs.file !== undefined,
    streams: source?.streams ?? data.outputs.streams.map(({ url }) => ({ url: redactStreamUrl(url), state: 'connecting' as const })),
    requestedBy: data.requestedBy,
    startedAt: source?.startedAt ?? null,
    durationSeconds: source?.durationSeconds ?? 0,
    bytes: source?.bytes ?? 0,
    droppedFrames: source?.droppedFrames ?? 0,
    fps: progress && !result ? progress.fps : 0,
    parts: result ? Math.max(1, result.parts.length) : (progress?.parts ?? 0),
    error: state === 'failed' ? job.failedReason : (progress?.error ?? result?.errors.at(-1)?.message),
  };
}
