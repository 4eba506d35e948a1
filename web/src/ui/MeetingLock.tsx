import { Lock, LockOpen } from 'lucide-preact';
import { useState } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';

/** Lock the meeting with a digit password (phone callers type it), or unlock it. */
export function MeetingLock({ conference }: { conference: Conference }) {
  const [editing, setEditing] = useState(false);
  const [password, setPassword] = useState('');
  const valid = /^[0-9]{4,12}$/.test(password);
  // Others see whether the meeting is locked, without the controls.
  const mayChange = conference.may('setRoomPassword');

  if (conference.locked.value) {
    return (
      <div class="panel-section lock-row" data-testid="meeting-lock">
        <Lock size={16} class="locked" />
        <span class="grow">Locked: newcomers need the password</span>
        {mayChange && (
          <button class="button secondary small" onClick={() => void conference.setRoomPassword(null)}>
            Unlock
          </button>
        )}
      </div>
    );
  }
  if (!editing || !mayChange) {
    return (
      <div class="panel-section lock-row" data-testid="meeting-lock">
        <LockOpen size={16} />
        <span class="grow">Anyone with the link or PIN can join</span>
        {mayChange && (
          <button class="button secondary small" id="lock-button" onClick={() => setEditing(true)}>
            Lock
          </button>
        )}
      </div>
    );
  }
  const lock = async (event: Event) => {
    event.preventDefault();
    if (valid && (await conference.setRoomPassword(password))) {
      setEditing(false);
      setPassword('');
    }
  };
  return (
    <form class="panel-section" data-testid="meeting-lock" onSubmit={(e) => void lock(e)}>
      <label for="lock-password">Meeting password (4 to 12 digits, so phone callers can type it)</label>
      <div class="inline-form">
        <input
          id="lock-password"
          inputMode="numeric"
          autocomplete="off"
          maxLength={12}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value.replace(/[^0-9]/g, ''))}
        />
        <button class="button primary small" type="submit" disabled={!valid}>
          Lock
        </button>
        <button class="button secondary small" type="button" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
