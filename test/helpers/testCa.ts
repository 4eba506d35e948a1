import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestHost } from './hosts.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/** A certificate authority of the test's own (openssl), whose certificates nothing else trusts. */
export class TestCa {
  /** The CA's certificate: what a client is told to trust. */
  readonly certificate: string;
  readonly #dir: string;
  readonly #key: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.certificate = path.join(dir, 'ca.pem');
    this.#key = path.join(dir, 'ca.key');
  }

  static async create(dir: string, name = 'Telebridge Test CA'): Promise<TestCa> {
    fs.mkdirSync(dir, { recursive: true });
    const ca = new TestCa(dir);
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca.#key, '-out', ca.certificate, '-days', '2', '-subj', `/CN=${name}`]);
    return ca;
  }

  /** A server certificate for `address` (an IP address, as the test hosts have no names). */
  async issue(address: string): Promise<{ cert: string; key: string }> {
    const base = path.join(this.#dir, address);
    const [cert, key, request, extensions] = [`${base}.pem`, `${base}.key`, `${base}.csr`, `${base}.ext`];
    fs.writeFileSync(extensions, `subjectAltName=IP:${address}\n`);
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', request, '-subj', `/CN=${address}`]);
    await run('openssl', ['x509', '-req', '-in', request, '-CA', this.certificate, '-CAkey', this.#key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extensions]);
    return { cert, key };
  }
}

/**
 * A TLS terminator (Debian's stunnel4) in front of a plain TCP server, as
 * ingest services put RTMPS in front of RTMP.
 */
export class Stunnel {
  readonly #process: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#process = child;
  }

  static async start(
    options: { host: TestHost; accept: number; connect: string; cert: { cert: string; key: string }; dir: string },
  ): Promise<Stunnel> {
    const conf = path.join(options.dir, `stunnel-${options.accept}.conf`);
    fs.writeFileSync(
      conf,
      ['foreground = yes', 'pid =', '[service]', `accept = ${options.host.address}:${options.accept}`, `connect = ${options.connect}`, `cert = ${options.cert.cert}`, `key = ${options.cert.key}`, ''].join('\n'),
    );
    const child = options.host.spawn('stunnel', [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    await waitFor(`stunnel listening on ${options.accept} (${log})`, async () => {
      if (child.exitCode !== null) throw new Error(`stunnel exited: ${log}`);
      return (await options.host.exec('ss', ['-H', '-ltn', `sport = :${options.accept}`])).trim() !== '';
    }, 10_000, 100);
    return new Stunnel(child);
  }

  async stop(): Promise<void> {
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    this.#process.kill('SIGTERM');
    await exited;
  }
}
