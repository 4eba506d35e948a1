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

  // The latest callback, so re-renders (4 per second with audio levels) do not re-create the observer.
  const heightListener = useRef(onHeight);
  heightListener.current = onHeight;
  const reportsHeight = !!onHeight;
  useEffect(() => {
    if (!reportsHeight) return;
    const observer = new ResizeObserver(([entry]) => heightListener.current?.(entry!.contentRect.height));
    observer.observe(ref.current!);
    return () => observer.disconnect();
  }, [reportsHeight]);

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
