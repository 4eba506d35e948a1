import type { RefObject } from 'preact';
import { useEffect } from 'preact/hooks';

/** Plays one track in an <audio> or <video> element for as long as it is mounted. */
export function usePlayTrack(ref: RefObject<HTMLMediaElement>, track: MediaStreamTrack): void {
  useEffect(() => {
    const element = ref.current!;
    element.srcObject = new MediaStream([track]);
    element.play().catch(() => undefined); // muted video always autoplays; audio may after the join click
    return () => {
      element.srcObject = null;
    };
  }, [track]);
}
