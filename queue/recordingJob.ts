// The contract between whoever asks for a recording (the bridge's REST and
// signaling) and whoever makes it (recorder workers): the job's data, the
// progress a worker reports while it runs, and what it returns at the end.
// Both sides validate with these schemas; a job that does not parse fails
// at once with the schema's message instead of being retried.
import { z } from 'zod';
import { maxDurationSecondsSchema, roomNameSchema, streamStatusSchema, streamUrlSchema } from '../protocol/protocol.ts';

export const RECORDING_QUEUE = 'recordings';

const int = z.number().int();

/** Outputs in the shape of livekit/egress's request: an optional file plus repeated streams. */
export const recordingOutputsSchema = z.object({
  file: z.object({ format: z.enum(['mp4', 'm4a', 'mp3']).default('mp4') }).optional(),
  streams: z.array(z.object({ url: streamUrlSchema })).max(5).default([]),
});

export const recordingJobSchema = z
  .object({
    room: roomNameSchema,
    /** A composite of the meeting in a browser, or the room's mixed audio (no browser). */
    mode: z.enum(['composite', 'audio']).default('composite'),
    outputs: recordingOutputsSchema,
    layout: z.enum(['grid', 'speaker']).default('grid'),
    video: z
      .object({
        width: int.min(320).max(1920).multipleOf(2),
        height: int.min(240).max(1080).multipleOf(2),
        fps: int.min(5).max(60),
      })
      .default({ width: 1280, height: 720, fps: 30 }),
    maxDurationSeconds: maxDurationSecondsSchema.optional(),
    requestedBy: z.string().trim().min(1).max(64).default('api'),
  })
  .superRefine((job, ctx) => {
    const { file, streams } = job.outputs;
    if (!file && streams.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['outputs'], message: 'ask for a file, a stream, or both' });
    }
    if (job.mode === 'composite' && file && file.format !== 'mp4') {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'file', 'format'], message: 'a composite recording is an mp4' });
    }
    if (job.mode === 'audio' && file?.format === 'mp4') {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'file', 'format'], message: 'an audio-only recording is an m4a or mp3' });
    }
    if (job.mode === 'audio' && streams.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['outputs', 'streams'], message: 'audio-only recordings cannot stream' });
    }
  });
export type RecordingJob = z.output<typeof recordingJobSchema>;
export type RecordingJobInput = z.input<typeof recordingJobSchema>;

/** One capture segment: a crash of the capture starts a new one. */
export const recordingPartSchema = z.object({
  path: z.string(),
  startedAt: int,
  endedAt: int,
  /** How the part ended: `stopped` normally, otherwise what crashed; empty while it is being written. */
  endedBy: z.string(),
});
export type RecordingPart = z.infer<typeof recordingPartSchema>;

/** What a worker reports while the job runs (BullMQ job progress). */
export const recordingProgressSchema = z.object({
  state: z.enum(['starting', 'active', 'stopping']),
  startedAt: int.nullable(),
  durationSeconds: z.number(),
  bytes: int,
  frames: int,
  droppedFrames: int,
  /** Frames per second captured since the previous report. */
  fps: z.number(),
  parts: int,
  /** Every part written so far, kept so a retried job (its worker died) joins them into one file. */
  partFiles: z.array(recordingPartSchema),
  streams: z.array(streamStatusSchema),
  participants: z.array(z.string()),
  errors: z.array(z.object({ at: int, message: z.string() })),
  /** The latest thing that went wrong without ending the job. */
  error: z.string().optional(),
});
export type RecordingProgress = z.infer<typeof recordingProgressSchema>;

export const STOP_REASONS = ['stopped', 'roomEmpty', 'noMedia', 'maxDuration', 'roomClosed', 'workerShutdown', 'failed'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** The metadata written beside the file, and the job's return value. */
export const recordingResultSchema = z.object({
  id: z.string(),
  room: roomNameSchema,
  mode: z.enum(['composite', 'audio']),
  layout: z.enum(['grid', 'speaker']),
  requestedBy: z.string(),
  attempt: int,
  startedAt: int,
  endedAt: int,
  durationSeconds: z.number(),
  stopReason: z.enum(STOP_REASONS),
  /** The final file, relative to the recordings directory; null when only streamed or nothing was captured. */
  file: z.string().nullable(),
  bytes: int,
  /** Set when the capture restarted and the parts could not be joined into one file. */
  parts: z.array(recordingPartSchema),
  streams: z.array(streamStatusSchema),
  participants: z.array(z.string()),
  droppedFrames: int,
  frames: int,
  errors: z.array(z.object({ at: int, message: z.string() })),
  finalizeHook: z.object({ command: z.string(), exitCode: int.nullable(), output: z.string() }).optional(),
});
export type RecordingResult = z.infer<typeof recordingResultSchema>;

/** Shows a stream URL without its key (the last path segment), for status and logs. */
export function redactStreamUrl(url: string): string {
  const parsed = new URL(url);
  const path = parsed.pathname.split('/').filter(Boolean);
  const shown = path.length > 1 ? `/${path.slice(0, -1).join('/')}/` : '/';
  return `${parsed.protocol}//${parsed.host}${shown}${path.length ? '••••' : ''}`;
}
