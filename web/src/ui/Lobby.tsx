import { DoorClosed, DoorOpen, Phone } from 'lucide-preact';
import type { Knock } from '../../../protocol/protocol.ts';
import type { Conference } from '../lib/conference.ts';
import { useNow } from './useNow.ts';

/**
 * The lobby: everyone sees whether it is on; moderators turn it on and off,
 * and let in or turn away whoever knocks, one by one or all at once.
 */
export function Lobby({ conference }: { conference: Conference }) {
  const enabled = conference.lobbyEnabled.value;
  const knocks = [...conference.knocks.value.values()];
  return (
    <section class="panel-section" data-testid="lobby" data-enabled={String(enabled)} aria-label="Lobby">
      <div class="lock-row">
        {enabled ? <DoorClosed size={16} class="lobby-on" /> : <DoorOpen size={16} />}
        <span class="grow">{enabled ? 'Lobby on: newcomers wait to be let in' : 'Lobby off: newcomers join at once'}</span>
        {conference.may('setLobby') && (
          <button
            class="button secondary small"
            id="lobby-toggle"
            onClick={() => void conference.setLobby(!enabled)}
            aria-label={enabled ? 'Turn the lobby off' : 'Turn the lobby on'}
          >
            {enabled ? 'Turn off' : 'Turn on'}
          </button>
        )}
      </div>
      {knocks.length > 0 && <Knocks conference={conference} knocks={knocks} />}
    </section>
  );
}

function Knocks({ conference, knocks }: { conference: Conference; knocks: Knock[] }) {
  const now = useNow(1000);
  const mayAdmit = conference.may('admit');
  const mayDeny = conference.may('deny');
  return (
    <div class="knocks">
      <div class="knocks-header">
        <h3 class="grow">Waiting ({knocks.length})</h3>
        {knocks.length > 1 && mayAdmit && (
          <button class="button primary small" id="admit-all" onClick={() => void conference.admit()}>
            Admit all
          </button>
        )}
        {knocks.length > 1 && mayDeny && (
          <button class="button secondary small" id="deny-all" onClick={() => void conference.deny()}>
            Deny all
          </button>
        )}
      </div>
      <ul class="knock-list">
        {knocks.map((knock) => (
          <li key={knock.id} class="knock" data-testid="knock" data-kind={knock.kind}>
            <span class="participant-kind">{knock.kind === 'phone' ? <Phone size={16} aria-label="phone" /> : null}</span>
            <span class="grow">
              <span class="knock-name">{knock.displayName}</span>
              <span class="knock-wait">
                {knock.kind === 'phone' ? 'Phone, ' : ''}waiting {waited(now - knock.since)}
              </span>
            </span>
            <span class="participant-actions">
              {mayAdmit && (
                <button class="button primary small" onClick={() => void conference.admit(knock.id)} aria-label={`Admit ${knock.displayName}`}>
                  Admit
                </button>
              )}
              {mayDeny && (
                <button class="button secondary small" onClick={() => void conference.deny(knock.id)} aria-label={`Deny ${knock.displayName}`}>
                  Deny
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "12 s", "3 min": how long someone has waited (the bridge's clock and ours may differ a little, never below 0). */
function waited(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min`;
}
