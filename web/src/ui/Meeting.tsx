import { useComputed } from '@preact/signals';
import { useCallback, useState } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';
import { AudioSink } from './AudioSink.tsx';
import { ChatPanel } from './ChatPanel.tsx';
import { EndScreen } from './EndScreen.tsx';
import { GridLayout } from './GridLayout.tsx';
import { Notices } from './Notices.tsx';
import { ParticipantsPanel } from './ParticipantsPanel.tsx';
import { Tile, type TileModel } from './Tile.tsx';
import { Toolbar, type Panel } from './Toolbar.tsx';
import { TopBar } from './TopBar.tsx';

/** Everyone's tiles (self first), shared screens, and remote audio tracks, derived from the conference. */
function useTiles(conference: Conference) {
  return useComputed(() => {
    const selfId = conference.selfId.value ?? 'self';
    const people: TileModel[] = [
      {
        key: 'self',
        peerId: selfId,
        displayName: conference.displayName,
        kind: 'web',
        isSelf: true,
        video: conference.cameraTrack.value,
        isScreen: false,
        micMuted: !conference.micOn.value,
        handRaised: conference.handRaised.value,
      },
    ];
    const screens: TileModel[] = [];
    const audio: MediaStreamTrack[] = [];
    const media = [...conference.remoteMedia.value.values()];
    for (const peer of conference.participants.value.values()) {
      const mine = media.filter((m) => m.peerId === peer.id);
      const camera = mine.find((m) => m.source === 'camera');
      const screen = mine.find((m) => m.source === 'screen');
      const micProducer = peer.producers.find((p) => p.source === 'mic');
      for (const m of mine) if (m.consumer.kind === 'audio') audio.push(m.consumer.track);
      const base = { peerId: peer.id, displayName: peer.displayName, kind: peer.kind, isSelf: false };
      people.push({
        ...base,
        key: peer.id,
        video: camera?.consumer.track ?? null,
        videoConsumerId: camera?.consumer.id,
        isScreen: false,
        micMuted: !micProducer || micProducer.paused,
        handRaised: peer.handRaised,
      });
      if (screen) {
        screens.push({ ...base, key: `${peer.id}:screen`, video: screen.consumer.track, videoConsumerId: screen.consumer.id, isScreen: true, micMuted: false, handRaised: false });
      }
    }
    const ownScreen = conference.screenTrack.value;
    if (ownScreen) {
      screens.push({ ...people[0]!, key: 'self:screen', video: ownScreen, isScreen: true });
    }
    return { people, screens, audio };
  });
}

export function Meeting({ conference, onRejoin }: { conference: Conference; onRejoin: () => void }) {
  const tiles = useTiles(conference);
  const [panel, setPanel] = useState<Panel>(null);
  const [speakerView, setSpeakerView] = useState(false);
  const onVideoHeight = useCallback((consumerId: string, height: number) => conference.setVideoHeight(consumerId, height), [conference]);

  const status = conference.status.value;
  if (status === 'ended') return <EndScreen conference={conference} onRejoin={onRejoin} />;

  const { people, screens, audio } = tiles.value;
  const activeId = conference.activeSpeakerId.value;
  const levels = conference.levels.value;
  const tile = (t: TileModel) => (
    <Tile key={t.key} tile={t} speaking={!t.isScreen && t.peerId === activeId && people.length > 1} level={levels.get(t.peerId) ?? 0} onVideoHeight={onVideoHeight} />
  );

  // A shared screen takes the stage; otherwise speaker view stages the active speaker.
  const stageTile = screens[0] ?? (speakerView ? (people.find((p) => p.peerId === activeId && !p.isSelf) ?? people[1] ?? people[0]) : undefined);
  const filmstrip = stageTile ? [...screens.filter((s) => s !== stageTile), ...people.filter((p) => p !== stageTile)] : [];

  return (
    <div class={`meeting ${panel ? 'with-panel' : ''}`}>
      <TopBar conference={conference} />
      {status === 'reconnecting' && (
        <div class="banner warning" role="status">
          Connection lost. Reconnecting…
        </div>
      )}
      {status === 'connecting' && (
        <div class="banner" role="status">
          Joining…
        </div>
      )}
      <main class="stage-area">
        {stageTile ? (
          <div class="stage-layout">
            <div class="stage">{tile(stageTile)}</div>
            <div class="filmstrip">{filmstrip.map(tile)}</div>
          </div>
        ) : (
          <GridLayout count={people.length}>{people.map(tile)}</GridLayout>
        )}
        {panel === 'chat' && <ChatPanel conference={conference} onClose={() => setPanel(null)} />}
        {panel === 'participants' && <ParticipantsPanel conference={conference} onClose={() => setPanel(null)} />}
      </main>
      <Toolbar
        conference={conference}
        panel={panel}
        onPanel={setPanel}
        speakerView={speakerView}
        onSpeakerView={setSpeakerView}
      />
      <Notices conference={conference} />
      <AudioSink tracks={audio} />
    </div>
  );
}
