import { Download } from 'lucide-preact';
import { useEffect, useState } from 'preact/hooks';
import type { RecordingFile } from '../../../protocol/protocol.ts';
import type { Conference } from '../lib/conference.ts';
import { downloadUrl, fetchRecordingFiles } from '../lib/recordings.ts';
import { SidePanel } from './SidePanel.tsx';

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const clock = `${Math.floor((s % 3600) / 60)}:${String(s % 60).padStart(2, '0')}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${clock.padStart(5, '0')}` : clock;
}

function formatSize(bytes: number): string {
  if (bytes < 1e6) return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
  return bytes < 1e9 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e9).toFixed(2)} GB`;
}

/** The room's finished recordings to download; reloaded whenever one ends. */
export function RecordingsPanel({ conference, onClose }: { conference: Conference; onClose: () => void }) {
  const [files, setFiles] = useState<RecordingFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  // A failed recording may still have left a file, so any end reloads.
  const lastEnded = conference.lastEndedRecording.value?.id;
  const accessToken = conference.accessToken.value;

  useEffect(() => {
    if (!accessToken) return;
    let current = true;
    fetchRecordingFiles(conference.room, accessToken).then(
      (loaded) => {
        if (!current) return;
        setFiles(loaded);
        setError(null);
      },
      (e: Error) => current && setError(`Could not load the recordings: ${e.message}`),
    );
    return () => {
      current = false;
    };
  }, [conference, lastEnded, accessToken]);

  return (
    <SidePanel title="Recordings" onClose={onClose}>
      {error && <p class="panel-section hint error">{error}</p>}
      {files?.length === 0 && <p class="panel-section hint">No recordings yet. Finished recordings appear here.</p>}
      {files && files.length > 0 && accessToken && (
        <ul class="recording-list">
          {files.map((file) => (
            <RecordingFileRow key={file.id} file={file} href={downloadUrl(file, accessToken)} />
          ))}
        </ul>
      )}
    </SidePanel>
  );
}

function RecordingFileRow({ file, href }: { file: RecordingFile; href: string }) {
  const date = new Date(file.startedAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <li class="recording-file" data-testid="recording-file" data-recording-id={file.id}>
      <span class="grow">
        {date}
        <span class="recording-meta">
          {formatDuration(file.durationSeconds)} · {formatSize(file.bytes)}
          {file.mode === 'audio' ? ' · audio only' : ''}
        </span>
      </span>
      <a class="icon-button" href={href} download={file.name} title="Download" aria-label={`Download the recording of ${date}`}>
        <Download size={16} />
      </a>
    </li>
  );
}
