import { Check, DoorClosed, Link, Lock, Phone, PhoneOff, Radio, ShieldAlert, ShieldCheck, Users } from 'lucide-preact';
import { useState } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';
import { isLive, isRecordingFile } from '../lib/recordings.ts';
import { Brand } from './Brand.tsx';
import { useNow } from './useNow.ts';

export function TopBar({ conference }: { conference: Conference }) {
  const clock = new Date(useNow(10_000)).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const [copied, setCopied] = useState(false);
  const count = conference.participants.value.size + 1;

  const copyLink = () => {
    void navigator.clipboard?.writeText(location.href).then(() => {
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    });
  };

  return (
    <header class="top-bar">
      <Brand />
      <div class="room-info">
        <span class="room-name">{conference.room}</span>
        <button class="chip" onClick={copyLink} title="Copy meeting link">
          {copied ? <Check size={14} /> : <Link size={14} />} {copied ? 'Copied' : 'Copy link'}
        </button>
        <DialInChip conference={conference} />
        {conference.locked.value && (
          <span class="chip quiet locked" data-testid="room-locked" title="Newcomers need the meeting password">
            <Lock size={14} /> Locked
          </span>
        )}
        <E2eeChips conference={conference} />
        {conference.lobbyEnabled.value && (
          <span class="chip quiet lobby-on" data-testid="lobby-on" title="Newcomers wait in the lobby until a moderator lets them in">
            <DoorClosed size={14} /> Lobby
          </span>
        )}
      </div>
      <div class="top-bar-right">
        <RecordingChips conference={conference} />
        <span class="chip quiet" title="People in this meeting">
          <Users size={14} /> {count}
        </span>
        <span class="clock">{clock}</span>
      </div>
    </header>
  );
}

/** The meeting's end-to-end encryption, and whose media we cannot decrypt under it. */
function E2eeChips({ conference }: { conference: Conference }) {
  if (!conference.e2ee.value) return null;
  const participants = conference.participants.value;
  return (
    <>
      <span class="chip quiet e2ee-on" data-testid="e2ee-on" title="End-to-end encrypted: the server forwards media it cannot read">
        <ShieldCheck size={14} /> Encrypted
      </span>
      {[...conference.undecryptable.value].map((peerId) => (
        <span key={peerId} class="chip e2ee-failing" data-testid="cannot-decrypt" title="Their media does not decrypt with the keys we hold">
          <ShieldAlert size={14} /> Cannot decrypt {participants.get(peerId)?.displayName ?? 'a participant'}
        </span>
      ))}
    </>
  );
}

/** Phone numbers and PIN, so anyone can bring a caller in; while E2EE is on, why no phone can join. */
function DialInChip({ conference }: { conference: Conference }) {
  const dialIn = conference.dialIn.value;
  if (!dialIn) return null;
  if (conference.e2ee.value) {
    return (
      <span class="chip quiet dial-in" data-testid="dial-in-off" title="Phones cannot hold the meeting's keys: dial-in and dial-out come back when end-to-end encryption is turned off">
        <PhoneOff size={14} /> No phones while encrypted
      </span>
    );
  }
  const numbers = dialIn.numbers.length ? dialIn.numbers.join(', ') : 'SIP';
  return (
    <span class="chip quiet dial-in" data-testid="dial-in" title={`Call ${numbers} and enter PIN ${dialIn.pin} followed by #`}>
      <Phone size={14} /> {dialIn.numbers[0] ?? 'Dial in'} · PIN <strong data-testid="dial-in-pin">{dialIn.pin}</strong>
    </span>
  );
}

/** Everyone sees when the meeting is recorded or streamed (kept on small screens too). */
function RecordingChips({ conference }: { conference: Conference }) {
  const recordings = conference.recordings.value;
  return (
    <>
      {isRecordingFile(recordings) && (
        <span class="chip recording-chip" data-testid="recording-indicator" title="This meeting is being recorded">
          <span class="recording-dot" /> Recording
        </span>
      )}
      {isLive(recordings) && (
        <span class="chip live-chip" data-testid="live-indicator" title="This meeting is streamed live">
          <Radio size={14} /> Live
        </span>
      )}
    </>
  );
}
