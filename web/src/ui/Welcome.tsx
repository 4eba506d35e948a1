import { ArrowRight, Phone, Sparkles, Users, Video } from 'lucide-preact';
import { useState } from 'preact/hooks';
import { roomNameSchema } from '../../../protocol/protocol.ts';
import { navigate } from '../lib/navigation.ts';
import { Brand } from './Brand.tsx';

const ADJECTIVES = ['bright', 'calm', 'brave', 'swift', 'quiet', 'sunny', 'bold', 'clever', 'gentle', 'lucky'];
const NOUNS = ['otter', 'falcon', 'maple', 'harbor', 'comet', 'meadow', 'canyon', 'river', 'lantern', 'orchid'];

function randomRoomName(): string {
  const pick = (words: string[]) => words[Math.floor(Math.random() * words.length)];
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}-${Math.floor(100 + Math.random() * 900)}`;
}

export function Welcome() {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);

  const join = (event: Event) => {
    event.preventDefault();
    const room = name.trim().replace(/\s+/g, '-');
    const parsed = roomNameSchema.safeParse(room);
    if (!parsed.success) {
      setError('Use letters, digits, dashes or underscores (up to 64).');
      return;
    }
    navigate(`/${room}`);
  };

  return (
    <main class="welcome">
      <header class="welcome-header">
        <Brand />
      </header>
      <section class="welcome-hero">
        <h1>Meet face to face, right from the browser.</h1>
        <p class="lead">
          Video meetings on your own server: nothing to install for your guests, just share the link.
        </p>
        <button class="button primary large" onClick={() => navigate(`/${randomRoomName()}`)}>
          <Sparkles size={18} /> Start a new meeting
        </button>
        <form class="join-form" onSubmit={join}>
          <label for="room-name">or join one by name</label>
          <div class="input-row">
            <input
              id="room-name"
              value={name}
              placeholder="e.g. standup"
              autocomplete="off"
              onInput={(e) => {
                setName(e.currentTarget.value);
                setError(null);
              }}
            />
            <button class="button secondary" type="submit" disabled={!name.trim()}>
              Join <ArrowRight size={16} />
            </button>
          </div>
          {error && <p class="field-error">{error}</p>}
        </form>
        <ul class="features">
          <li>
            <Video size={18} /> HD video with simulcast, screen sharing and chat
          </li>
          <li>
            <Users size={18} /> Grid and speaker views, raise hand, participant list
          </li>
          <li>
            <Phone size={18} /> Phones join too: dial in with the meeting's PIN, or invite a number from the meeting
          </li>
        </ul>
      </section>
    </main>
  );
}
