// Whether a bridge answers at all: a TCP connection to its public URL's host
// and port, nothing more. A bridge whose process died has its port refused
// at once; a dead machine leaves the connection unanswered until the probe
// gives up.
import net from 'node:net';

/** Where a bridge's public URL is reached: its host (bare, an IPv6 literal without brackets) and port (the scheme's default if none is given). */
export function probeAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  const port = parsed.port ? Number(parsed.port) : parsed.protocol === 'https:' ? 443 : 80;
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Whether a TCP connection to the bridge at `url` opens within `timeoutMs`. */
export function bridgeAnswers(url: string, timeoutMs: number): Promise<boolean> {
  const { host, port } = probeAddress(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
