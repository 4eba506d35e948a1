import { useEffect, useRef, useState } from 'preact/hooks';
import { describeMediaError } from '../lib/devices.ts';

export interface LocalTrack {
  track: MediaStreamTrack | null;
  error: string | null;
  /** Still opening the device; joining waits for this. */
  pending: boolean;
  /** Keep the current track running after unmount (it was handed to the meeting). */
  handOver(): void;
}

/**
 * Opens a camera or microphone while `enabled`, reopening when the device
 * changes, and when it stops on its own (unplugged, taken by another
 * application, its capture failed): joining then waits for the new one, so
 * nobody is handed a dead device.
 */
/** Times a device that keeps stopping on its own is opened again before the form says so instead. */
const MAX_REOPENS = 3;

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
  /** Bumped when the device stopped on its own, to open it again. */
  const [stops, setStops] = useState(0);
  const handedOver = useRef<MediaStreamTrack | null>(null);

  useEffect(() => {
    if (!enabled) return setPending(false);
    let opened: MediaStreamTrack | null = null;
    let cancelled = false;
    setPending(true);
    open(deviceId)
      .then((t) => {
        if (cancelled) return t.stop();
        opened = t;
        // Not fired by our own stop(): only when the device itself went away.
        t.addEventListener('ended', () => {
          if (cancelled) return;
          if (stops < MAX_REOPENS) return setStops((n) => n + 1);
          setTrack(null);
          setError(`Your ${what} keeps stopping: check it, or choose another`);
        });
        setTrack(t);
        setError(null);
        onOpened();
      })
      .catch((e) => !cancelled && setError(describeMediaError(e, what)))
      .finally(() => !cancelled && setPending(false));
    return () => {
      cancelled = true;
      if (opened !== handedOver.current) opened?.stop();
      setTrack(null);
    };
  }, [deviceId, enabled, stops]);

  return { track, error, pending, handOver: () => (handedOver.current = track) };
}
