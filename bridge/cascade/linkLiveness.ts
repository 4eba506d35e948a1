// A cascade link's check that the other bridge still answers: a host powered
// off or a network split sends no FIN, and the link would look open for
// hours (a split room on the satellite, ghost remote peers on the home). Each
// end pings with WebSocket ping frames, which the other's ws answers itself;
// a link that missed two pongs in a row is terminated, and closes as any.
import { PING_INTERVAL_MS } from '../../protocol/liveness.ts';

/** Pongs missed in a row that make the other bridge dead. */
const MISSED_PONGS = 2;
/** WebSocket.OPEN: a socket still connecting (a satellite's, while it dials) is not pinged yet. */
const OPEN = 1;

/** What the check needs of a ws WebSocket. */
export interface PingedSocket {
  readonly readyState: number;
  ping(): void;
  terminate(): void;
  on(event: 'pong', listener: () => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** Pings `socket` every `intervalMs` until it closes; terminates it after MISSED_PONGS pings without a pong. */
export function watchLiveness(socket: PingedSocket, onDead: () => void, intervalMs = PING_INTERVAL_MS): void {
  let missed = 0;
  const timer = setInterval(() => {
    if (socket.readyState !== OPEN) return;
    if (missed >= MISSED_PONGS) {
      clearInterval(timer);
      onDead();
      socket.terminate();
      return;
    }
    missed += 1;
    socket.ping();
  }, intervalMs);
  socket.on('pong', () => {
    missed = 0;
  });
  socket.once('close', () => clearInterval(timer));
}
