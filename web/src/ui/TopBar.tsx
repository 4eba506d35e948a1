import { Check, Link, Lock, Phone, Users } from 'lucide-preact';
import { useEffect, useState } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';
import { Brand } from './Brand.tsx';

function useClock(): string {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 10_000);
    return () => clearInterval(timer);
  }, []);
  return now.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

export function TopBar({ conference }: { conference: Conference }) {
  const clock = useClock();
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
      </div>
      <div class="top-bar-right">
        <span class="chip quiet" title="People in this meeting">
          <Users size={14} /> {count}
        </span>
        <span class="clock">{clock}</span>
      </div>
    </header>
  );
}

/** Phone numbers and PIN, so anyone can bring a caller in. */
function DialInChip({ conference }: { conference: Conference }) {
  const dialIn = conference.dialIn.value;
  if (!dialIn) return null;
  const numbers = dialIn.numbers.length ? dialIn.numbers.join(', ') : 'SIP';
  return (
    <span class="chip quiet dial-in" data-testid="dial-in" title={`Call ${numbers} and enter PIN ${dialIn.pin} followed by #`}>
      <Phone size={14} /> {dialIn.numbers[0] ?? 'Dial in'} · PIN <strong data-testid="dial-in-pin">{dialIn.pin}</strong>
    </span>
  );
}
