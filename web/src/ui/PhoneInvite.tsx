import { PhoneCall, PhoneOff } from 'lucide-preact';
import { useState } from 'preact/hooks';
import type { DialOutCall, DialOutState } from '../../../protocol/protocol.ts';
import { FINAL_DIAL_OUT_STATES } from '../../../protocol/protocol.ts';
import type { Conference } from '../lib/conference.ts';

const STATE_TEXT: Record<DialOutState, string> = {
  calling: 'Calling…',
  ringing: 'Ringing…',
  answered: 'In the meeting',
  ended: 'Call ended',
  busy: 'Busy',
  noAnswer: 'No answer',
  failed: 'Call failed',
  cancelled: 'Cancelled',
};

/** Ring a phone number into the meeting, and follow each invitation. */
export function PhoneInvite({ conference }: { conference: Conference }) {
  const [number, setNumber] = useState('');
  const calls = [...conference.dialOuts.value.values()].reverse().slice(0, 5);
  if (!conference.dialOutAvailable.value && calls.length === 0) return null;
  const valid = /^\+?[0-9][0-9 ()-]{2,40}$/.test(number.trim());

  const invite = async (event: Event) => {
    event.preventDefault();
    if (valid && (await conference.dialOut(number))) setNumber('');
  };
  return (
    <section class="panel-section" aria-label="Invite by phone">
      <form onSubmit={(e) => void invite(e)}>
        <label for="invite-number">Invite by phone</label>
        <div class="inline-form">
          <input
            id="invite-number"
            type="tel"
            autocomplete="off"
            placeholder="+1 555 010 0199"
            value={number}
            onInput={(e) => setNumber(e.currentTarget.value)}
          />
          <button class="button primary small" type="submit" id="invite-button" disabled={!valid} title="Call this number">
            <PhoneCall size={16} /> Call
          </button>
        </div>
      </form>
      {calls.length > 0 && (
        <ul class="invitation-list">
          {calls.map((call) => (
            <Invitation key={call.id} call={call} onHangUp={() => void conference.cancelDialOut(call.id)} />
          ))}
        </ul>
      )}
    </section>
  );
}

function Invitation({ call, onHangUp }: { call: DialOutCall; onHangUp: () => void }) {
  const final = FINAL_DIAL_OUT_STATES.has(call.state);
  return (
    <li class="invitation" data-testid="invitation" data-state={call.state}>
      <span class="grow">
        {call.number}
        <span class={`invitation-state ${call.state}`} title={call.reason}>
          {STATE_TEXT[call.state]}
        </span>
      </span>
      {!final && (
        <button class="icon-button danger" onClick={onHangUp} aria-label={`Hang up ${call.number}`} title="Hang up">
          <PhoneOff size={16} />
        </button>
      )}
    </li>
  );
}
