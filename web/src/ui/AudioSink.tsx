import { useEffect, useRef } from 'preact/hooks';

/** Plays one remote audio track. */
function RemoteAudio({ track }: { track: MediaStreamTrack }) {
  const ref = useRef<HTMLAudioElement>(null);
  useEffect(() => {
    const audio = ref.current!;
    audio.srcObject = new MediaStream([track]);
    audio.play().catch(() => undefined); // allowed after the join click
    return () => {
      audio.srcObject = null;
    };
  }, [track]);
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
