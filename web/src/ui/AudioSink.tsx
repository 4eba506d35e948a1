import { useRef } from 'preact/hooks';
import { usePlayTrack } from './usePlayTrack.ts';

/** Plays one remote audio track. */
function RemoteAudio({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  usePlayTrack(ref, track);
  return <audio ref={ref} autoplay />;
}

export function AudioSink({ tracks }: { tracks: MediaStreamTrack[] }) {
  return (
    <div class="audio-sink" aria-hidden="true">
      {tracks.map((track) => (
        <RemoteAudio key={track.id} track={track} />
      ))}
    </div>
  );
}
