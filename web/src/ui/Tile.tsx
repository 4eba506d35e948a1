import { Hand, MicOff, Phone } from 'lucide-preact';
import type { PeerKind } from '../../../protocol/protocol.ts';
import { VideoView } from './VideoView.tsx';

export interface TileModel {
  key: string;
  peerId: string;
  displayName: string;
  kind: PeerKind;
  isSelf: boolean;
  video: MediaStreamTrack | null;
  videoConsumerId?: string;
  isScreen: boolean;
  micMuted: boolean;
  handRaised: boolean;
}

const AVATAR_COLORS = ['#5b6ee1', '#2f9e77', '#c2572b', '#9c4fd6', '#d1497f', '#2f86b8', '#8a7a2b', '#4a8f3c'];

function colorFor(name: string): string {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + ch.charCodeAt(0)) | 0;
  return AVATAR_COLORS[Math.abs(hash) % AVATAR_COLORS.length]!;
}

function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  return ((words[0]?.[0] ?? '?') + (words.length > 1 ? words[words.length - 1]![0] : '')).toUpperCase();
}

/** One person (or one shared screen): video or avatar, name, mic and hand state, speaking ring. */
export function Tile({
  tile,
  speaking,
  level,
  onVideoHeight,
}: {
  tile: TileModel;
  speaking: boolean;
  level: number;
  onVideoHeight?: (consumerId: string, height: number) => void;
}) {
  const consumerId = tile.videoConsumerId;
  return (
    <div
      class={`tile ${speaking ? 'speaking' : ''} ${tile.isScreen ? 'screen' : ''}`}
      style={{ '--level': level.toFixed(2) }}
      data-testid="tile"
      data-peer-id={tile.peerId}
      data-screen={tile.isScreen ? 'true' : undefined}
    >
      {tile.video ? (
        <VideoView
          track={tile.video}
          mirrored={tile.isSelf && !tile.isScreen}
          fit={tile.isScreen ? 'contain' : 'cover'}
          onHeight={consumerId && onVideoHeight ? (height) => onVideoHeight(consumerId, height) : undefined}
        />
      ) : (
        <div class="avatar-wrap">
          <div class="avatar" style={{ background: colorFor(tile.displayName) }}>
            {tile.kind === 'phone' ? <Phone size={36} /> : initials(tile.displayName)}
          </div>
        </div>
      )}
      <div class="tile-label">
        {tile.micMuted && !tile.isScreen && <MicOff size={14} class="muted-icon" aria-label="muted" />}
        {tile.kind === 'phone' && <Phone size={14} aria-label="phone" />}
        <span>
          {tile.isScreen ? `${tile.displayName}'s screen` : tile.displayName}
          {tile.isSelf && !tile.isScreen ? ' (you)' : ''}
        </span>
      </div>
      {tile.handRaised && !tile.isScreen && (
        <div class="tile-hand" aria-label="hand raised">
          <Hand size={18} />
        </div>
      )}
    </div>
  );
}
