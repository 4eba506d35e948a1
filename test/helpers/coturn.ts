// A real TURN server (Debian's coturn) on a test host, as an operator runs it
// for clients on networks that allow nothing but TCP 443: TURN over TCP and
// TURN over TLS on the same port 443 (coturn tells them apart by their first
// bytes), credentials by the shared-secret REST scheme (use-auth-secret), and
// relaying only to the bridge (every other peer address denied).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { TestHost } from './hosts.ts';
import { waitFor } from './wait.ts';

export interface CoturnOptions {
  host: TestHost;
  /** coturn's static-auth-secret: the bridge's TURN_SECRET. */
  secret: string;
  /** The certificate and key for TURN over TLS. */
  cert: { cert: string; key: string };
  /** The only addresses the relay may send to (the bridge's media address). */
  allowedPeers: string[];
  /** Where its configuration file goes. */
  dir: string;
  port?: number;
}

export class Coturn {
  readonly #child: ChildProcess;
  readonly #lines: string[] = [];

  private constructor(child: ChildProcess) {
    this.#child = child;
    createInterface({ input: child.stdout! }).on('line', (line) => this.#lines.push(line));
    createInterface({ input: child.stderr! }).on('line', (line) => this.#lines.push(line));
  }

  /** The turnserver.conf the README shows, on the test host's address. */
  static config({ host, secret, cert, allowedPeers, port = 443 }: CoturnOptions): string {
    return [
      `listening-ip=${host.address}`,
      `relay-ip=${host.address}`,
      `listening-port=${port}`,
      // TLS is accepted on listening-port too; its own port stays off the client's path.
      'tls-listening-port=5349',
      'no-udp',
      'no-dtls',
      `cert=${cert.cert}`,
      `pkey=${cert.key}`,
      'use-auth-secret',
      `static-auth-secret=${secret}`,
      'realm=telebridge.test',
      'fingerprint',
      'no-cli',
      // Sessions and their allocations are logged only so (allocations() reads them).
      'verbose',
      'no-multicast-peers',
      // Deny by default: the relay reaches the bridge and nothing else.
      'denied-peer-ip=0.0.0.0-255.255.255.255',
      ...allowedPeers.map((peer) => `allowed-peer-ip=${peer}`),
      'min-port=49152',
      'max-port=49251',
      'log-file=stdout',
      'simple-log',
      'pidfile=',
      '',
    ].join('\n');
  }

  static async start(options: CoturnOptions): Promise<Coturn> {
    const file = path.join(options.dir, 'turnserver.conf');
    fs.writeFileSync(file, Coturn.config(options), { mode: 0o600 });
    // No user database: REST credentials need none (an empty path keeps it off the system's /var/lib/turn).
    const child = options.host.spawn('turnserver', ['-c', file, '--userdb', path.join(options.dir, 'turndb')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const coturn = new Coturn(child);
    const port = options.port ?? 443;
    await waitFor(`coturn listening on ${options.host.address}:${port}`, async () => {
      if (coturn.exited) throw new Error(`turnserver exited: ${coturn.log.slice(-3000)}`);
      return (await options.host.exec('ss', ['-H', '-ltn', `sport = :${port}`])).trim() !== '';
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
