import { useEffect, useState } from 'preact/hooks';
import { regionSchema } from '../../../protocol/protocol.ts';
import { Conference } from '../lib/conference.ts';
import { prewarmE2eeWorker } from '../lib/e2eeSession.ts';
import { Meeting } from './Meeting.tsx';
import { Prejoin, type JoinChoice, type LockState } from './Prejoin.tsx';

declare global {
  interface Window {
    /** The live conference, for debugging from the console (and for tests). */
    conference?: Conference;
  }
}

export function RoomPage({ room }: { room: string }) {
  const [conference, setConference] = useState<Conference | null>(null);
  const [lock, setLock] = useState<LockState | null>(null);

  // While the join form is up, the E2EE worker loads and makes its keys: a join into an
  // encrypted meeting then sends our public key as soon as it is answered.
  useEffect(() => {
    if (!conference) prewarmE2eeWorker();
  }, [conference]);

  const join = (choice: JoinChoice) => {
    // A join token, as Jitsi takes it: our role, name and grants (AUTH_MODE token and secure need one for moderators).
    const query = new URLSearchParams(location.search);
    const token = query.get('jwt') ?? undefined;
    // Where we are (?region=, a label the deployment gives its bridges): a bridge there may serve us the room.
    const region = regionSchema.safeParse(query.get('region') ?? undefined).data;
    const next = new Conference({ room, ...choice, token, region });
    window.conference = next;
    setConference(next);
    next.start().catch(() => {
      // A locked room: back to the join form, asking for the password.
      if (next.endReason.value !== 'passwordRequired') return; // the meeting view shows the outcome
      setLock(choice.password ? 'wrongPassword' : 'locked');
      setConference(null);
    });
  };

  if (!conference) return <Prejoin room={room} onJoin={join} lock={lock} />;
  return <Meeting conference={conference} onRejoin={() => setConference(null)} />;
}
