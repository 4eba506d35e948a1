import { useEffect, useState } from 'preact/hooks';
import { roomNameSchema } from '../../../protocol/protocol.ts';
import { RecorderPage, type RecorderLayout } from './RecorderPage.tsx';
import { RoomPage } from './RoomPage.tsx';
import { Welcome } from './Welcome.tsx';

type Route = { page: 'welcome' } | { page: 'room'; room: string } | { page: 'recorder'; room: string; layout: RecorderLayout };

const isRoomName = (segment: string | undefined): segment is string => roomNameSchema.safeParse(segment).success;

/**
 * The room is the first path segment: http://host:8080/standup. A recorder
 * captures /recorder/standup?layout=grid|speaker (a room may still be called
 * "recorder": /recorder alone is that room).
 */
function routeFromLocation(): Route {
  const [first, second] = location.pathname.split('/').slice(1, 3).map(decodeURIComponent);
  if (first === 'recorder' && isRoomName(second)) {
    const layout = new URLSearchParams(location.search).get('layout') === 'speaker' ? 'speaker' : 'grid';
    return { page: 'recorder', room: second, layout };
  }
  return isRoomName(first) ? { page: 'room', room: first } : { page: 'welcome' };
}

export function App() {
  const [route, setRoute] = useState(routeFromLocation);
  useEffect(() => {
    const onPop = () => setRoute(routeFromLocation());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  switch (route.page) {
    case 'recorder':
      return <RecorderPage key={route.room} room={route.room} layout={route.layout} />;
    case 'room':
      return <RoomPage key={route.room} room={route.room} />;
    case 'welcome':
      return <Welcome />;
  }
}
