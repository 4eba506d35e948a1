import { Hand, Mic, MicOff, Phone, ShieldCheck, Video, VideoOff } from 'lucide-preact';
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
  encrypting: boolean;
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
      encrypting: conference.e2ee.value,
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
      encrypting: p.encrypting,
    })),
  ];
  // Raised hands first, in the order they joined otherwise.
  rows.sort((a, b) => Number(b.hand) - Number(a.hand));

  return (
    <SidePanel title={`Participants (${rows.length})`} onClose={onClose}>
      <MeetingLock conference={conference} />
      <Lobby conference={conference} />
      <E2eeToggle conference={conference} />
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
              {row.encrypting && <ShieldCheck size={16} class="encrypting" aria-label="encrypting" data-testid="encrypting" />}
              {row.hand && <Hand size={16} class="hand" aria-label="hand raised" />}
              {row.kind !== 'phone' && (row.cameraOn ? <Video size={16} /> : <VideoOff size={16} class="dim" />)}
              {row.micOn ? <Mic size={16} /> : <MicOff size={16} class="dim" />}
            </span>
            {!row.self && <VerificationDigits conference={conference} peerId={row.id} />}
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

/** Moderators turn end-to-end encryption on or off; a refusal (a phone or recorder is in) arrives as a notice saying why. */
function E2eeToggle({ conference }: { conference: Conference }) {
  if (!conference.may('setE2ee')) return null;
  const on = conference.e2ee.value;
  return (
    <div class="panel-section e2ee-row">
      <span>
        <ShieldCheck size={16} /> End-to-end encryption {on ? 'on' : 'off'}
      </span>
      <button id="toggle-e2ee" class="button secondary small" onClick={() => void conference.setE2ee(!on)}>
        {on ? 'Turn off' : 'Turn on'}
      </button>
    </div>
  );
}

/**
 * The code to compare with this participant out of band. The digits are what
 * to read aloud: the emoji alone are few enough bits for a bridge to grind.
 */
function VerificationDigits({ conference, peerId }: { conference: Conference; peerId: string }) {
  const code = conference.verificationCodes.value.get(peerId);
  if (!code) return null;
  return (
    <span class="verification-code" data-testid="verification-code" data-peer-id={peerId} title="Compare with what they see for you">
      <span class="verification-emoji" aria-label={code.emoji.map((e) => e.name).join(' ')}>
        {code.emoji.map((e) => e.symbol).join('')}
      </span>
      <span class="verification-digits">{code.digits.join(' ')}</span>
    </span>
  );
}
