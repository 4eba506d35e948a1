import fs from 'node:fs/promises';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../common/logger.ts';
import { describeZodError } from '../protocol/protocol.ts';
import {
  recordingJobSchema,
  recordingProgressSchema,
  type RecordingJob,
  type RecordingPart,
  type RecordingProgress,
  type RecordingResult,
  type StopReason,
} from '../queue/recordingJob.ts';
import { stopKey } from '../queue/redis.ts';
import { AudioRecording } from './AudioRecording.ts';
import { CompositeRecording } from './CompositeRecording.ts';
import type { RecorderConfig } from './config.ts';
import { joinParts, runFinalizeHook, writeMetadata } from './finalize.ts';
import type { RecordingSource } from './RecordingSource.ts';
import { RoomWatch } from './RoomWatch.ts';
import { makeScratchDir } from './scratchDirs.ts';

export interface RunContext {
  config: RecorderConfig;
  redis: Redis;
  /** Aborted when the worker shuts down: recordings are finished, not dropped. */
  shutdown: AbortSignal;
  logger: Logger;
}

// Often enough that a Stop ends the file within a quarter second of being asked.
const CHECK_EVERY_MS = 250;
const REPORT_EVERY_MS = 2000;

/**
 * One recording job from start to finished file: capture until a stop
 * condition, then join the parts, write the metadata JSON beside the file
 * and run the finalize hook. A job retried after its worker died carries on:
 * the earlier attempt's parts (kept in the job's progress) are joined with
 * the new ones.
 */
export async function runRecording(job: Job, context: RunContext): Promise<RecordingResult> {
  const parsed = recordingJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError(`invalid recording job: ${describeZodError(parsed.error)}`);
  const data = parsed.data;
  const { config } = context;
  const logger = context.logger.child({ job: job.id, room: data.room });
  const previous = recordingProgressSchema.safeParse(job.progress).data;
  const errors = [...(previous?.errors ?? [])];
  // A part still being written when the last progress was saved (no endedBy) ended with its worker, about then.
  const earlierParts: RecordingPart[] = (previous?.partFiles ?? []).map((part) => (part.endedBy ? part : { ...part, endedBy: 'the recorder worker died' }));
  if (previous) errors.push({ at: Date.now(), message: `the recorder worker stopped unexpectedly; recording resumed (attempt ${job.attemptsMade + 1})` });

  const roomDir = path.join(config.dir, data.room);
  await fs.mkdir(roomDir, { recursive: true });
  const base = path.join(roomDir, new Date(job.timestamp).toISOString().replace(/[:.]/g, '-'));
  const format = data.outputs.file?.format;
  const workDir = await makeScratchDir(job.id!);
  // When capture began (kept across attempts): durations count media, not browser start-up.
  let startedAt: number | null = previous?.startedAt ?? null;
  let fatal: string | undefined;
  let source: RecordingSource | undefined;
  const watch = new RoomWatch(config.bridgeUrl, config.serviceSecret, data.room, logger);

  // Delivered frame rate, over the time since the previous measurement.
  let rate = { frames: 0, at: Date.now(), fps: 0 };
  const progress = async (state: RecordingProgress['state']): Promise<RecordingProgress> => {
    const status = source?.status();
    const partFiles = [...earlierParts, ...(status?.parts ?? [])];
    const frames = status?.frames ?? 0;
    const now = Date.now();
    if (now - rate.at >= 1000) rate = { frames, at: now, fps: Math.max(0, (frames - rate.frames) / ((now - rate.at) / 1000)) };
    return {
      state,
      startedAt,
      durationSeconds: startedAt === null ? 0 : (now - startedAt) / 1000,
      bytes: await bytesWritten(partFiles),
      frames,
      droppedFrames: status?.droppedFrames ?? 0,
      fps: Math.round(rate.fps * 10) / 10,
      parts: partFiles.length,
      partFiles,
      streams: status?.streams ?? [],
      participants: [...watch.participants],
      errors,
      error: errors.at(-1)?.message,
    };
  };
  // Checked here: the bridge reads progress that breaks the contract as 'starting', so a bug would only show as a stuck indicator.
  const report = async (state: RecordingProgress['state']) => {
    try {
      await job.updateProgress(recordingProgressSchema.parse(await progress(state)));
    } catch (error) {
      logger.warn({ err: error }, 'cannot report progress');
    }
  };
  const onProblem = (message: string, isFatal = false) => {
    errors.push({ at: Date.now(), message });
    logger.warn({ fatal: isFatal }, message);
    if (isFatal) fatal = message;
    void report('active');
  };

  let stopReason: StopReason;
  let capturedUntil: number | undefined;
  try {
    await report('starting');
    if ((await stopRequestedAt(context.redis, job.id!)) !== null) {
      stopReason = 'stopped'; // stopped while its worker was gone: just finish what was captured
    } else {
      const outputs = { partPath: format ? (n: number) => `${base}.part${n}.${format}` : undefined, streams: data.outputs.streams.map((s) => s.url) };
      const options = { config, job: data, workDir, outputs, firstPart: earlierParts.length + 1, onProblem, logger };
      const capture: RecordingSource = data.mode === 'audio' ? new AudioRecording(options) : new CompositeRecording(options);
      source = capture;
      const capturedSince = await capture.start();
      startedAt ??= capturedSince;
      logger.info({ mode: data.mode, file: Boolean(format), streams: outputs.streams.length }, 'recording');
      await report('active');
      const stop = await untilStop(job, data, capture, watch, context, startedAt, () => fatal, () => report('active'));
      stopReason = stop.reason;
      capturedUntil = stop.at;
      logger.info({ stopReason }, 'stopping the recording');
      await report('stopping');
      await capture.stop(stop.at);
    }
  } catch (error) {
    await source?.stop().catch(() => undefined);
    watch.stop();
    await fs.rm(workDir, { recursive: true, force: true });
    throw error;
  }
  watch.stop();
  await fs.rm(workDir, { recursive: true, force: true });

  const last = await progress('stopping');
  let file: string | null = null;
  let bytes = 0;
  let parts = last.partFiles;
  if (format) {
    const target = `${base}.${format}`;
    try {
      for (const message of await joinParts(config.ffmpegPath, parts, target)) errors.push({ at: Date.now(), message });
      file = path.relative(config.dir, target);
      bytes = (await fs.stat(target)).size;
      parts = parts.length > 1 ? parts : [];
    } catch (error) {
      errors.push({ at: Date.now(), message: (error as Error).message });
    }
  }
  const endedAt = capturedUntil ?? Date.now();
  const result: RecordingResult = {
    id: job.id!,
    room: data.room,
    mode: data.mode,
    layout: data.layout,
    requestedBy: data.requestedBy,
    attempt: job.attemptsMade + 1,
    startedAt: startedAt ?? endedAt,
    endedAt,
    durationSeconds: (endedAt - (startedAt ?? endedAt)) / 1000,
    stopReason,
    file,
    bytes,
    parts,
    streams: last.streams,
    participants: last.participants,
    droppedFrames: last.droppedFrames,
    frames: last.frames,
    errors,
  };
  // Listed (and downloadable) at once; the hook (an upload, say) may take minutes, and its outcome is added after.
  await writeMetadata(`${base}.json`, result);
  if (file && config.finalizeHook) {
    result.finalizeHook = await runFinalizeHook(config.finalizeHook, path.join(config.dir, file));
    await writeMetadata(`${base}.json`, result);
  }
  logger.info({ file, bytes, stopReason, parts: parts.length }, 'recording finished');
  if (stopReason === 'failed') throw new UnrecoverableError(fatal ?? errors.at(-1)?.message ?? 'the recording failed');
  return result;
}

/** The size of the parts on disk (one being written grows; joined ones are gone). */
async function bytesWritten(parts: RecordingPart[]): Promise<number> {
  const sizes = await Promise.all(parts.map((part) => fs.stat(part.path).then((stat) => stat.size, () => 0)));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** When a stop was asked for (ms since the epoch), or null if it was not. */
async function stopRequestedAt(redis: Redis, id: string): Promise<number | null> {
  // Redis being down must not end a recording: keep going until it is back.
  const value = await redis.get(stopKey(id)).catch(() => null);
  if (value === null) return null;
  // Never in the future (the bridge's clock may be ahead of this host's).
  return Math.min(Number(value) || Date.now(), Date.now());
}

/** Waits for the first stop condition and says which, and when it came. */
/** How far a stop asked for by another host's clock is believed: about one check of this loop, and a loaded moment. */
const STOP_CLOCK_TRUST_MS = 4 * CHECK_EVERY_MS;

/**
 * When the recording stops: when it was asked for (the bridge's clock, which
 * marks the stop), kept within the moments this worker could have seen it
 * (its own clock). A bridge on another host whose clock is behind would
 * otherwise cut the end of the file; one ahead, nothing.
 */
export function stopMoment(askedAt: number, seenAt: number): number {
  return Math.min(seenAt, Math.max(askedAt, seenAt - STOP_CLOCK_TRUST_MS));
}

async function untilStop(
  job: Job,
  data: RecordingJob,
  source: RecordingSource,
  watch: RoomWatch,
  { config, redis, shutdown }: RunContext,
  startedAt: number,
  fatal: () => string | undefined,
  report: () => Promise<unknown>,
): Promise<{ reason: StopReason; at: number }> {
  const maxDurationMs = Math.min(config.stopWhen.maxDurationMs, (data.maxDurationSeconds ?? Infinity) * 1000);
  let reportedAt = 0;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, CHECK_EVERY_MS));
    const now = Date.now();
    const stop = (reason: StopReason, at = now) => ({ reason, at });
    if (fatal()) return stop('failed');
    if (shutdown.aborted) return stop('workerShutdown');
    const askedAt = await stopRequestedAt(redis, job.id!);
    if (askedAt !== null) return stop('stopped', Math.max(startedAt, stopMoment(askedAt, now)));
    if (now - startedAt >= maxDurationMs) return stop('maxDuration', startedAt + maxDurationMs);
    if (watch.emptyForMs(now) >= config.stopWhen.emptyMs) return stop('roomEmpty');
    if (watch.noMediaForMs(now) >= config.stopWhen.noMediaMs) return stop('noMedia');
    if (await source.ended()) return stop('roomClosed');
    const { streams } = source.status();
    if (!data.outputs.file && streams.length > 0 && streams.every((s) => s.state === 'failed')) return stop('failed');
    if (now - reportedAt >= REPORT_EVERY_MS) {
      reportedAt = now;
      await report();
    }
  }
}
