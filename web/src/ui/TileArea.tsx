import { useCallback } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';
import { GridLayout } from './GridLayout.tsx';
import { Tile, type TileModel } from './Tile.tsx';
import type { Tiles } from './useTiles.ts';

/**
 * A shared screen takes the stage; otherwise speaker view stages the active
 * speaker; either way everyone else goes in the filmstrip. Without a stage,
 * a grid of everyone.
 */
export function TileArea({ conference, tiles, speakerView }: { conference: Conference; tiles: Tiles; speakerView: boolean }) {
  const onVideoHeight = useCallback((consumerId: string, height: number) => conference.setVideoHeight(consumerId, height), [conference]);
  const { people, screens } = tiles;
  const activeId = conference.activeSpeakerId.value;
  const levels = conference.levels.value;
  const tile = (t: TileModel) => (
    <Tile key={t.key} tile={t} speaking={!t.isScreen && t.peerId === activeId && people.length > 1} level={levels.get(t.peerId) ?? 0} onVideoHeight={onVideoHeight} />
  );

  const others = people.filter((p) => !p.isSelf);
  const stageTile = screens[0] ?? (speakerView ? (others.find((p) => p.peerId === activeId) ?? others[0] ?? people[0]) : undefined);
  if (!stageTile) return <GridLayout count={people.length}>{people.map(tile)}</GridLayout>;
  const filmstrip = [...screens.filter((s) => s !== stageTile), ...people.filter((p) => p !== stageTile)];
  return (
    <div class="stage-layout">
      <div class="stage">{tile(stageTile)}</div>
      <div class="filmstrip">{filmstrip.map(tile)}</div>
    </div>
  );
}
