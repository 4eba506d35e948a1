// A real TURN server (Debian's coturn) on a test host, run as
// docker-compose.yml runs it: the repository's turnserver.conf (TURN over TCP
// and TLS on port 443, use-auth-secret, relaying only to the bridge) with the
// deployment's secret, bridge address and certificate on the command line.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestHost } from './hosts.ts';
import { waitFor } from './wait.ts';

/** The repository's turnserver.conf: what docker-compose.yml's coturn service runs with. */
const CONFIG = fileURLToPath(new URL('../../turnserver.conf', import.meta.url));

export interface CoturnOptions {
  host: TestHost;
  /** coturn's static-auth-secret: the bridge's TURN_SECRET. */
  secret: string;
  /** The certificate and key for TURN over TLS. */
  cert: { cert: string; key: string };
  /** The only address the relay may send to (the bridge's media address). */
  allowedPeer: string;
  /** Where its pid file and (empty) user database go. */
  dir: string;
}

export class Coturn {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.#lines.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => this.#lines.push(line));
  }

  /** turnserver with the repository's configuration, on the host's address, with what compose gives on its command line. */
  static async start({ host, secret, cert, allowedPeer, dir }: CoturnOptions): Promise<Coturn> {
    const child = host.spawn(
      'turnserver',
      [
        '-c', CONFIG,
        `--listening-ip=${host.address}`,
        `--relay-ip=${host.address}`,
        `--static-auth-secret=${secret}`,
        `--allowed-peer-ip=${allowedPeer}`,
        `--cert=${cert.cert}`,
        `--pkey=${cert.key}`,
        // Sessions and their allocations are logged only so (allocations() reads them).
        '--verbose',
        `--pidfile=${path.join(dir, 'turnserver.pid')}`,
        // REST credentials need no user database; this keeps coturn off the system's /var/lib/turn.
        `--userdb=${path.join(dir, 'turndb')}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const coturn = new Coturn(child);
    await waitFor(`coturn listening on ${host.address}:443`, async () => {
      if (coturn.exited) throw new Error(`turnserver exited: ${coturn.log.slice(-3000)}`);
      return (await host.exec('ss', ['-H', '-ltn', 'sport = :443'])).trim() !== '';
    }, 10_000, 100);
    return coturn;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  get log(): string {
    return this.#lines.join('\n');
  }

  /**
   * The allocations it granted so far: under which username (`<expiry>:<peer id>`),
   * and whether over TLS (a session's first line names its cipher then).
   */
  allocations(): { username: string; tls: boolean }[] {
    const tlsSessions = new Set<string>();
    const granted: { username: string; tls: boolean }[] = [];
    for (const line of this.#lines) {
      const opened = /session (\d+): new, .*cipher=/.exec(line);
      if (opened) tlsSessions.add(opened[1]!);
      const allocated = /session (\d+): realm <[^>]*> user <([^>]+)>: incoming packet ALLOCATE processed, success/.exec(line);
      if (allocated) granted.push({ username: allocated[2]!, tls: tlsSessions.has(allocated[1]!) });
    }
    return granted;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}
