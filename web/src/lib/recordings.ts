// What the UI derives from the recordings under way, the live-stream targets a
// person types, and the room's finished recordings (REST).
import { z } from 'zod';
import type { RecordingFile, RecordingInfo, RecordingState } from '../../../protocol/protocol.ts';
import { describeZodError, recordingFileSchema, recordingInfoSchema, streamUrlSchema } from '../../../protocol/protocol.ts';

type Recordings = ReadonlyMap<string, RecordingInfo>;

/** Asked for or running, and not yet being stopped: what a Stop button can stop. */
const STOPPABLE: ReadonlySet<RecordingState> = new Set(['queued', 'starting', 'active']);
/** A file is being written (or finished off). */
const WRITING: ReadonlySet<RecordingState> = new Set(['starting', 'active', 'stopping']);

function find(recordings: Recordings, match: (recording: RecordingInfo) => boolean): RecordingInfo | undefined {
  return [...recordings.values()].find(match);
}

export function stoppableFileRecording(recordings: Recordings): RecordingInfo | undefined {
  return find(recordings, (r) => r.file && STOPPABLE.has(r.state));
}

export function stoppableLiveStream(recordings: Recordings): RecordingInfo | undefined {
  return find(recordings, (r) => r.streams.length > 0 && STOPPABLE.has(r.state));
}

export function isRecordingFile(recordings: Recordings): boolean {
  return !!find(recordings, (r) => r.file && WRITING.has(r.state));
}

/** Some destination is receiving the meeting. */
export function isLive(recordings: Recordings): boolean {
  return !!find(recordings, (r) => r.streams.some((s) => s.state === 'live'));
}

// YouTube's RTMPS ingest: the stream key does not cross the network in the clear.
const YOUTUBE_INGEST = 'rtmps://a.rtmps.youtube.com/live2/';
/** As many as startRecording takes. */
const MAX_STREAMS = 5;

/**
 * One destination per line: an rtmp(s):// URL, or a bare YouTube stream key
 * (what YouTube Studio shows), which goes to YouTube's ingest server.
 */
export function parseStreamTargets(text: string): { streams: string[]; error?: string } {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  if (lines.length > MAX_STREAMS) return { streams: [], error: `At most ${MAX_STREAMS} destinations.` };
  const streams: string[] = [];
  for (const [index, line] of lines.entries()) {
    const parsed = streamUrlSchema.safeParse(line.includes('://') ? line : YOUTUBE_INGEST + line);
    if (!parsed.success) return { streams: [], error: `Line ${index + 1}: ${parsed.error.issues[0]!.message}` };
    streams.push(parsed.data);
  }
  return { streams };
}

const recordingListSchema = z.object({ current: z.array(recordingInfoSchema), files: z.array(recordingFileSchema) });

/** The room's finished recordings, newest first; `accessToken`: the bridge's token from our join. */
export async function fetchRecordingFiles(room: string, accessToken: string): Promise<RecordingFile[]> {
  const response = await fetch(`/api/rooms/${encodeURIComponent(room)}/recordings`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (!response.ok) {
    const problem = (await response.json().catch(() => null)) as { error?: unknown } | null;
    throw new Error(typeof problem?.error === 'string' ? problem.error : `the server answered ${response.status}`);
  }
  const parsed = recordingListSchema.safeParse(await response.json());
  if (!parsed.success) throw new Error(`unexpected answer (${describeZodError(parsed.error)})`);
  return parsed.data.files.toSorted((a, b) => b.startedAt - a.startedAt);
}

/** A download link: a browser following a link sends no Authorization header, so the token goes in the query. */
export function downloadUrl(file: RecordingFile, accessToken: string): string {
  return `${file.url}?access_token=${encodeURIComponent(accessToken)}`;
}
