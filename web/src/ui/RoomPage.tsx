import { useState } from 'preact/hooks';
import { Conference } from '../lib/conference.ts';
import { Meeting } from './Meeting.tsx';
import { Prejoin, type JoinChoice } from './Prejoin.tsx';

declare global {
  interface Window {
    /** The live conference, for debugging from the console (and for tests). */
    conference?: Conference;
  }
}

export function RoomPage({ room }: { room: string }) {
  const [conference, setConference] = useState<Conference | null>(null);

  const join = (choice: JoinChoice) => {
    const next = new Conference({ room, ...choice });
    window.conference = next;
    setConference(next);
    next.start().catch(() => undefined); // the meeting view shows the outcome
  };

  if (!conference) return <Prejoin room={room} onJoin={join} />;
  return <Meeting conference={conference} onRejoin={() => setConference(null)} />;
}
