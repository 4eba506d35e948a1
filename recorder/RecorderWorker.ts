import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../common/logger.ts';
import { RECORDING_QUEUE } from '../queue/recordingJob.ts';
import type { RecorderConfig } from './config.ts';
import { runRecording } from './RecordingRun.ts';
import { removeDeadWorkersScratch } from './scratchDirs.ts';

/**
 * A recorder process: takes recording jobs from the queue, up to
 * RECORDER_CONCURRENCY at once. Add machines by starting more of these
 * against the same Redis. A worker that dies stops renewing its jobs' locks;
 * BullMQ's stalled-job check then gives them to another worker.
 */
export class RecorderWorker {
  readonly #worker: Worker;
  readonly #redis: Redis;
  readonly #shutdown = new AbortController();
  readonly #logger: Logger;
  readonly #config: RecorderConfig;

  constructor(config: RecorderConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    this.#redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
    this.#redis.on('error', (error) => logger.debug({ err: error }, 'recorder: redis error'));
    const context = { config, redis: this.#redis, shutdown: this.#shutdown.signal, logger };
    this.#worker = new Worker(RECORDING_QUEUE, (job) => runRecording(job, context), {
      connection: { url: config.redisUrl, maxRetriesPerRequest: null },
      concurrency: config.concurrency,
      lockDuration: config.lockMs,
      stalledInterval: config.lockMs,
      maxStalledCount: 3,
    });
    this.#worker.on('error', (error) => logger.warn({ err: error }, 'recorder worker error'));
    this.#worker.on('failed', (job, error) => logger.warn({ job: job?.id, err: error }, 'recording failed'));
  }

  /** Resolves once connected to Redis and listening for jobs, and says so. */
  async ready(): Promise<void> {
    await this.#worker.waitUntilReady();
    const removed = await removeDeadWorkersScratch();
    if (removed > 0) this.#logger.info({ removed }, 'removed the scratch directories of dead recorder workers');
    // Only now does the queue count this worker: the bridge refuses recordings ("no recorder available") until then.
    const { concurrency, bridgeUrl, dir } = this.#config;
    this.#logger.info({ concurrency, bridge: bridgeUrl, dir }, 'recorder waiting for jobs');
  }

  /** Finishes the recordings under way (their files are completed), then disconnects. */
  async stop(): Promise<void> {
    this.#shutdown.abort();
    await this.#worker.close();
    this.#redis.disconnect();
  }
}
