import { useComputed } from '@preact/signals';
import type { Conference } from '../lib/conference.ts';
import type { TileModel } from './Tile.tsx';

export interface Tiles {
  people: TileModel[];
  screens: TileModel[];
  audio: MediaStreamTrack[];
}

/**
 * Everyone's tiles (self first, except for a recorder, which is nobody),
 * shared screens, and remote audio tracks, derived from the conference.
 */
export function useTiles(conference: Conference) {
  return useComputed<Tiles>(() => {
    const selfId = conference.selfId.value ?? 'self';
    const people: TileModel[] = [];
    if (conference.kind === 'web') {
      people.push({
        key: 'self',
        peerId: selfId,
        displayName: conference.displayName,
        kind: 'web',
        isSelf: true,
        video: conference.cameraTrack.value,
        isScreen: false,
        micMuted: !conference.micOn.value,
        handRaised: conference.handRaised.value,
      });
    }
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
