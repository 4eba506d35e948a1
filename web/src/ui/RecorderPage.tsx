import { useEffect, useState } from 'preact/hooks';
import { Conference } from '../lib/conference.ts';
import { AudioSink } from './AudioSink.tsx';
import { TileArea } from './TileArea.tsx';
import { useTiles } from './useTiles.ts';

export type RecorderLayout = 'grid' | 'speaker';

declare global {
  interface Window {
    /** The bridge's service secret, injected by the recorder worker before the page loads. */
    recorderSecret?: string;
  }
}

/**
 * What a recorder's headless browser captures: the meeting as a clean
 * composite (no controls), with everyone's audio. It joins hidden and only
 * receives. The worker waits for `data-recorder-ready` on <body> and stops
 * on `data-recorder-ended` (the reason).
 */
export function RecorderPage({ room, layout }: { room: string; layout: RecorderLayout }) {
  // The worker injects an empty secret when the bridge has none.
  const [conference] = useState(
    () => new Conference({ room, displayName: 'Recorder', kind: 'recorder', secret: window.recorderSecret || undefined, microphone: null, camera: null }),
  );
  const tiles = useTiles(conference);
  const status = conference.status.value;

  useEffect(() => {
    window.conference = conference; // the worker reads inboundStats()
    conference.start().catch(() => undefined); // the ended status reports it
    return () => conference.leave();
  }, [conference]);

  useEffect(() => {
    if (status === 'connected') document.body.dataset.recorderReady = 'true';
    if (status === 'ended') document.body.dataset.recorderEnded = conference.endReason.value ?? 'left';
  }, [status, conference]);

  const { people, audio } = tiles.value;
  return (
    <main class="recorder-view">
      {people.length > 0 ? (
        <TileArea conference={conference} tiles={tiles.value} speakerView={layout === 'speaker'} />
      ) : (
        <div class="recorder-waiting">
          <p>Waiting for participants</p>
          <p class="recorder-room">{room}</p>
        </div>
      )}
      <AudioSink tracks={audio} />
    </main>
  );
}
