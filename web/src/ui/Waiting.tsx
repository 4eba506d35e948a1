import type { Conference, Wait } from '../lib/conference.ts';
import { Brand } from './Brand.tsx';

const SCREENS: Record<Wait, { testId: string; title: string; detail: (room: string) => string }> = {
  waitingForHost: {
    testId: 'waiting-for-host',
    title: 'Waiting for the host',
    detail: (room) => `You will join ${room} as soon as a moderator arrives.`,
  },
  waitingInLobby: {
    testId: 'waiting-in-lobby',
    title: 'Waiting for a moderator to let you in',
    detail: (room) => `You are in the lobby of ${room}. You will join as soon as a moderator lets you in.`,
  },
};

/**
 * Before we are let in: a secure meeting's guest until a moderator arrives, or
 * a knock in the lobby until a moderator admits it. Nothing of the room (its
 * people, its chat) reaches us yet, so there is nothing of it to show.
 */
export function Waiting({ conference, wait }: { conference: Conference; wait: Wait }) {
  const screen = SCREENS[wait];
  return (
    <main class="end-screen" data-testid={screen.testId}>
      <Brand />
      <h1>{screen.title}</h1>
      <p class="lead">{screen.detail(conference.room)}</p>
      <div class="end-actions">
        <button id="cancel-waiting" class="button secondary" onClick={() => conference.leave()}>
          Cancel
        </button>
      </div>
    </main>
  );
}
