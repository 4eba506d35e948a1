import { useEffect, useState } from 'preact/hooks';
import { roomNameSchema } from '../../../bridge/protocol.ts';
import { RoomPage } from './RoomPage.tsx';
import { Welcome } from './Welcome.tsx';

/** The room is the first path segment: http://host:8080/standup */
function roomFromLocation(): string | null {
  const segment = decodeURIComponent(location.pathname.split('/')[1] ?? '');
  return roomNameSchema.safeParse(segment).success ? segment : null;
}

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function App() {
  const [room, setRoom] = useState(roomFromLocation);
  useEffect(() => {
    const onPop = () => setRoom(roomFromLocation());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  return room ? <RoomPage key={room} room={room} /> : <Welcome />;
}
