import fs from 'node:fs/promises';
import path from 'node:path';
import type { RecordingFile } from '../../protocol/protocol.ts';
import { recordingResultSchema } from '../../queue/recordingJob.ts';

/** What a recording file's name may look like: no paths, no surprises. */
export const RECORDING_NAME = /^[\w.-]{1,128}\.(mp4|m4a|mp3)$/;

export const CONTENT_TYPES: Record<string, string> = { mp4: 'video/mp4', m4a: 'audio/mp4', mp3: 'audio/mpeg' };

/**
 * The finished recordings of a room, newest first, read from the metadata
 * JSON each recorder writes beside its file. Metadata without a file (a
 * stream only) is not listed.
 */
export async function listRecordingFiles(dir: string, room: string): Promise<RecordingFile[]> {
  const roomDir = path.join(dir, room);
  const names = await fs.readdir(roomDir).catch(() => [] as string[]);
  const files: RecordingFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    const parsed = recordingResultSchema.safeParse(JSON.parse(await fs.readFile(path.join(roomDir, name), 'utf8').catch(() => 'null')));
    if (!parsed.success || !parsed.data.file) continue;
    const result = parsed.data;
    const fileName = path.basename(result.file!);
    files.push({
      id: result.id,
      room,
      name: fileName,
      url: `/api/recordings/${encodeURIComponent(room)}/${encodeURIComponent(fileName)}`,
      mode: result.mode,
      startedAt: result.startedAt,
      endedAt: result.endedAt,
      durationSeconds: result.durationSeconds,
      bytes: result.bytes,
      stopReason: result.stopReason,
      parts: Math.max(1, result.parts.length),
      errors: result.errors.map((e) => e.message),
    });
  }
  return files.sort((a, b) => b.startedAt - a.startedAt);
}
