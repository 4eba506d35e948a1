import { useEffect, useRef, useState } from 'preact/hooks';
import { describeMediaError } from '../lib/devices.ts';

export interface LocalTrack {
  track: MediaStreamTrack | null;
  error: string | null;
  /** Still opening the device; joining waits for this. */
  pending: boolean;
  /** Keep the track running after unmount (it was handed to the meeting). */
  handOver(): void;
}

/** Opens a camera or microphone while `enabled`, reopening when the device changes. */
export function useLocalTrack(
  what: 'camera' | 'microphone',
  open: (deviceId?: string) => Promise<MediaStreamTrack>,
  deviceId: string | undefined,
  enabled: boolean,
  onOpened: () => void,
): LocalTrack {
  const [track, setTrack] = useState<MediaStreamTrack | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(enabled);
  const handedOver = useRef(false);

  useEffect(() => {
    if (!enabled) return setPending(false);
    let opened: MediaStreamTrack | null = null;
    let cancelled = false;
    setPending(true);
    open(deviceId)
      .then((t) => {
        if (cancelled) return t.stop();
        opened = t;
        setTrack(t);
        setError(null);
        onOpened();
      })
      .catch((e) => !cancelled && setError(describeMediaError(e, what)))
      .finally(() => !cancelled && setPending(false));
    return () => {
      cancelled = true;
      if (!handedOver.current) opened?.stop();
      setTrack(null);
    };
  }, [deviceId, enabled]);

  return { track, error, pending, handOver: () => (handedOver.current = true) };
}
