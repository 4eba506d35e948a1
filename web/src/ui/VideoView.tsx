import { useEffect, useRef } from 'preact/hooks';
import { usePlayTrack } from './usePlayTrack.ts';

/** A <video> showing one track; reports its rendered height for simulcast layer choice. */
export function VideoView({
  track,
  mirrored = false,
  fit = 'cover',
  onHeight,
}: {
  track: MediaStreamTrack;
  mirrored?: boolean;
  fit?: 'cover' | 'contain';
  onHeight?: (height: number) => void;
}) {
  const ref = useRef<HTMLVideoElement>(null);
  usePlayTrack(ref, track);

  useEffect(() => {
    if (!onHeight) return;
    const observer = new ResizeObserver(([entry]) => onHeight(entry!.contentRect.height));
    observer.observe(ref.current!);
    return () => observer.disconnect();
  }, [onHeight]);

  return (
    <video
      ref={ref}
      class={`video ${mirrored ? 'mirrored' : ''} ${fit}`}
      autoplay
      playsInline
      muted
      data-track-id={track.id}
    />
  );
}
