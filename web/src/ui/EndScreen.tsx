import type { Conference, EndReason } from '../lib/conference.ts';
import { navigate } from '../lib/navigation.ts';
import { Brand } from './Brand.tsx';

const MESSAGES: Record<EndReason, { title: string; detail: string; rejoin: boolean }> = {
  left: { title: 'You left the meeting', detail: 'Thanks for joining.', rejoin: true },
  kicked: { title: 'You were removed from the meeting', detail: 'A moderator removed you.', rejoin: false },
  roomClosed: { title: 'The meeting has ended', detail: 'The meeting was closed for everyone.', rejoin: true },
  roomFull: {
    title: 'This meeting is full',
    detail: 'The room has reached its participant limit. Try again when someone leaves.',
    rejoin: true,
  },
  passwordRequired: {
    title: 'This meeting is locked',
    detail: 'Its password changed while you were away. Rejoin and enter the new one.',
    rejoin: true,
  },
  meetingEnded: { title: 'The meeting has ended', detail: 'A moderator ended the meeting for everyone.', rejoin: false },
  unauthorized: {
    title: 'You cannot join this meeting',
    detail: 'Your invitation link was not accepted. Ask the host for a new link.',
    rejoin: false,
  },
  rateLimited: {
    title: 'Too many attempts',
    detail: 'Too many wrong passwords were tried. Wait a moment, then try again.',
    rejoin: true,
  },
  notAdmitted: { title: 'You were not admitted', detail: 'A moderator turned down your request to join.', rejoin: false },
  noHost: {
    title: 'The host did not arrive',
    detail: 'Nobody let you in while you waited. Try again later.',
    rejoin: true,
  },
  lobbyTimedOut: {
    title: 'Nobody let you in',
    detail: 'You waited in the lobby, but no moderator let you in in time. Try again later.',
    rejoin: true,
  },
  unavailable: {
    title: 'The meeting is unavailable',
    detail: 'The server cannot take you into this meeting right now. Try again later.',
    rejoin: true,
  },
  encrypted: {
    title: 'This meeting is end-to-end encrypted',
    detail: 'Your browser cannot encrypt media end to end, so it cannot join. Try a current Chrome, Edge, Firefox or Safari.',
    rejoin: false,
  },
  failed: {
    title: 'Could not connect',
    detail: 'The meeting server could not be reached. Check your connection and try again.',
    rejoin: true,
  },
};

export function EndScreen({ conference, onRejoin }: { conference: Conference; onRejoin: () => void }) {
  const reason = conference.endReason.value ?? 'left';
  const message = MESSAGES[reason];
  return (
    <main class="end-screen" data-end-reason={reason}>
      <Brand />
      <h1>{message.title}</h1>
      <p class="lead">{message.detail}</p>
      {conference.endDetail.value && (
        <p class="hint" data-testid="end-detail">
          {conference.endDetail.value}
        </p>
      )}
      <div class="end-actions">
        {message.rejoin && (
          <button class="button primary" onClick={onRejoin}>
            Rejoin {conference.room}
          </button>
        )}
        <button class="button secondary" onClick={() => navigate('/')}>
          Back to home
        </button>
      </div>
    </main>
  );
}
