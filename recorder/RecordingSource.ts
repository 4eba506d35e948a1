import type { StreamStatus } from '../protocol/protocol.ts';
import type { RecordingPart } from '../queue/recordingJob.ts';

/** Where a source writes: a file per part (a crash starts a new part), and streams. */
export interface SourceOutputs {
  /** The path for part n (1-based), or undefined when only streaming. */
  partPath?: (n: number) => string;
  streams: string[];
}

export interface SourceStatus {
  frames: number;
  droppedFrames: number;
  streams: StreamStatus[];
  /** Every part so far; the one being written is last, with endedAt now and no endedBy yet. */
  parts: RecordingPart[];
}

/**
 * A running capture of one room: the composite (browser + ffmpeg) or the
 * mixed audio. It restarts what crashes by itself and reports it through
 * `onProblem`; `stop` finishes every output.
 */
export interface RecordingSource {
  /** Resolves once media is being written, with when the first of it was captured (ms since the epoch). */
  start(): Promise<number>;
  status(): SourceStatus;
  /** Why the room ended for the source (closed, recorder kicked), or null. */
  ended(): Promise<string | null>;
  /** Finishes every output, with media up to `at` (ms since the epoch; now if not given) where it can. */
  stop(at?: number): Promise<void>;
}

/** What a source tells its job about trouble it survived (or did not). */
export type ProblemReporter = (message: string, fatal?: boolean) => void;
