import { Hand, Mic, MicOff, Phone, Video, VideoOff } from 'lucide-preact';
import type { PeerInfo } from '../../../protocol/protocol.ts';
import type { Conference } from '../lib/conference.ts';
import { Lobby } from './Lobby.tsx';
import { MeetingLock } from './MeetingLock.tsx';
import { PhoneInvite } from './PhoneInvite.tsx';
import { SidePanel } from './SidePanel.tsx';

interface Row {
  id: string;
  name: string;
  kind: PeerInfo['kind'];
  micOn: boolean;
  cameraOn: boolean;
  hand: boolean;
  self: boolean;
  moderator: boolean;
}

export function ParticipantsPanel({ conference, onClose }: { conference: Conference; onClose: () => void }) {
  const rows: Row[] = [
    {
      id: 'self',
      name: conference.displayName,
      kind: 'web',
      micOn: conference.micOn.value,
      cameraOn: !!conference.cameraTrack.value,
      hand: conference.handRaised.value,
      self: true,
      moderator: conference.role.value === 'moderator',
    },
    ...[...conference.participants.value.values()].map((p) => ({
      id: p.id,
      name: p.displayName,
      kind: p.kind,
      micOn: p.producers.some((x) => x.source === 'mic' && !x.paused),
      cameraOn: p.producers.some((x) => x.source === 'camera' && !x.paused),
      hand: p.handRaised,
      self: false,
      moderator: p.role === 'moderator',
    })),
  ];
  // Raised hands first, in the order they joined otherwise.
  rows.sort((a, b) => Number(b.hand) - Number(a.hand));

  return (
    <SidePanel title={`Participants (${rows.length})`} onClose={onClose}>
      <MeetingLock conference={conference} />
      <Lobby conference={conference} />
      {conference.may('dialOut') && <PhoneInvite conference={conference} />}
      {conference.may('muteAll') && rows.some((row) => !row.self && row.micOn) && (
        <button id="mute-all" class="button secondary small" onClick={() => void conference.muteAll()}>
          <MicOff size={16} /> Mute everyone
        </button>
      )}
      <ul class="participant-list">
        {rows.map((row) => (
          <li key={row.id} class="participant" data-testid="participant" data-kind={row.kind} data-role={row.moderator ? 'moderator' : 'participant'}>
            <span class="participant-kind">{row.kind === 'phone' ? <Phone size={16} aria-label="phone" /> : null}</span>
            <span class="participant-name">
              {row.name}
              {row.self ? ' (you)' : ''}
              {row.moderator && <span class="role-badge">moderator</span>}
            </span>
            <span class="participant-state">
              {row.hand && <Hand size={16} class="hand" aria-label="hand raised" />}
              {row.kind !== 'phone' && (row.cameraOn ? <Video size={16} /> : <VideoOff size={16} class="dim" />)}
              {row.micOn ? <Mic size={16} /> : <MicOff size={16} class="dim" />}
            </span>
            <span class="participant-actions">
              {!row.self && row.micOn && conference.may('muteParticipant') && (
                <button class="button secondary small" onClick={() => void conference.muteParticipant(row.id)} aria-label={`Mute ${row.name}`}>
                  Mute
                </button>
              )}
              {!row.self && row.kind === 'web' && !row.moderator && conference.may('promote') && (
                <button class="button secondary small" onClick={() => void conference.promote(row.id)} aria-label={`Make ${row.name} a moderator`}>
                  Make moderator
                </button>
              )}
              {!row.self && conference.may('removeParticipant') && (
                <button class="button secondary small" onClick={() => void conference.removeParticipant(row.id)} aria-label={`Remove ${row.name}`}>
                  Remove
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </SidePanel>
  );
}
