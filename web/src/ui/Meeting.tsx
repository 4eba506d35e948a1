import { useState } from 'preact/hooks';
import { isWaiting, type Conference } from '../lib/conference.ts';
import { AudioSink } from './AudioSink.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { EndScreen } from './EndScreen.tsx';
import { Notices } from './Notices.tsx';
import { ParticipantsPanel } from './ParticipantsPanel.tsx';
import { RecordingsPanel } from './RecordingsPanel.tsx';
import { TileArea } from './TileArea.tsx';
import { Toolbar, type Panel } from './Toolbar.tsx';
import { TopBar } from './TopBar.tsx';
import { useTiles } from './useTiles.ts';
import { Waiting } from './Waiting.tsx';

export function Meeting({ conference, onRejoin }: { conference: Conference; onRejoin: () => void }) {
  const tiles = useTiles(conference);
  const [panel, setPanel] = useState<Panel>(null);
  const [speakerView, setSpeakerView] = useState(false);

  const status = conference.status.value;
  if (status === 'ended') return <EndScreen conference={conference} onRejoin={onRejoin} />;
  if (isWaiting(status)) return <Waiting conference={conference} wait={status} />;

  return (
    <div class={`meeting ${panel ? 'with-panel' : ''}`}>
      <TopBar conference={conference} />
      {status === 'reconnecting' && (
        <div class="banner warning" role="status">
          Connection lost. Reconnecting…
        </div>
      )}
      {status === 'connected' && conference.mediaProblem.value && (
        <div class="banner warning" role="alert" data-testid="media-problem">
          {conference.mediaProblem.value}
        </div>
      )}
      {status === 'connecting' && (
        <div class="banner" role="status">
          Joining…
        </div>
      )}
      <main class="stage-area">
        <TileArea conference={conference} tiles={tiles.value} speakerView={speakerView} />
        {panel === 'chat' && <ChatPanel conference={conference} onClose={() => setPanel(null)} />}
        {panel === 'participants' && <ParticipantsPanel conference={conference} onClose={() => setPanel(null)} />}
        {panel === 'recordings' && <RecordingsPanel conference={conference} onClose={() => setPanel(null)} />}
      </main>
      <Toolbar
        conference={conference}
        panel={panel}
        onPanel={setPanel}
        speakerView={speakerView}
        onSpeakerView={setSpeakerView}
      />
      <Notices conference={conference} />
      <AudioSink tracks={tiles.value.audio} />
    </div>
  );
}
