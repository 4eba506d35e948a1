import type { Conference } from '../lib/conference.ts';
import { Brand } from './Brand.tsx';

/** A secure meeting's guest before any moderator is in: the bridge lets us in once one arrives. */
export function WaitingForHost({ conference }: { conference: Conference }) {
  return (
    <main class="end-screen" data-testid="waiting-for-host">
      <Brand />
      <h1>Waiting for the host</h1>
      <p class="lead">You will join {conference.room} as soon as a moderator arrives.</p>
      <div class="end-actions">
        <button class="button secondary" onClick={() => conference.leave()}>
          Leave
        </button>
      </div>
    </main>
  );
}
