// A certificate from an ACME CA (Let's Encrypt by default; RFC 8555) for
// PUBLIC_HOSTNAME, through the http-01 challenge answered on ACME_HTTP_PORT
// (80: the CA asks http://<name>/.well-known/acme-challenge/<token>). It is
// kept in the TLS directory, put into the TlsIdentity, and renewed when a
// third of its lifetime is left, without a restart. Until the first one
// comes, and whenever the CA fails, the identity keeps what it has (the
// self-signed certificate); failures are logged and retried with backoff.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import acme from 'acme-client';
import { Backoff } from '../../common/backoff.ts';
import type { Logger } from '../../common/logger.ts';
import { readPair, writePrivate } from './selfSigned.ts';
import { parseCertificatePair, type CertificatePair, type TlsIdentity } from './TlsIdentity.ts';

const CHALLENGE_PATH = '/.well-known/acme-challenge/';
/** Failed orders are retried after 5 s, doubling up to an hour. */
const RETRY = { firstMs: 5_000, maxMs: 3600_000 };

export interface AcmeSettings {
  hostname: string;
  email: string;
  directoryUrl: string;
  /** Where the http-01 challenge is answered (the CA always asks port 80; other ports are for tests behind a redirect). */
  httpHost: string;
  httpPort: number;
  /** Where the account key and the certificate are kept. */
  dir: string;
  /** HTTPS port that other requests on the challenge port are redirected to. */
  httpsPort: number;
}

export class AcmeCertificates {
  readonly #settings: AcmeSettings;
  readonly #identity: TlsIdentity;
  readonly #logger: Logger;
  readonly #server: http.Server;
  /** token -> key authorization, while the CA validates. */
  readonly #challenges = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #backoff = new Backoff(RETRY);
  #stopped = false;

  private constructor(settings: AcmeSettings, identity: TlsIdentity, logger: Logger) {
    this.#settings = settings;
    this.#identity = identity;
    this.#logger = logger;
    this.#server = http.createServer((req, res) => this.#answer(req, res));
  }

  /** Listens for challenges, puts a kept certificate in service, and orders or schedules the next. */
  static async start(settings: AcmeSettings, identity: TlsIdentity, logger: Logger): Promise<AcmeCertificates> {
    const certificates = new AcmeCertificates(settings, identity, logger);
    await new Promise<void>((resolve, reject) => {
      certificates.#server.once('error', reject);
      certificates.#server.listen(settings.httpPort, settings.httpHost, () => resolve());
    });
    const kept = readPair(certificates.#certFile, certificates.#keyFile);
    if (kept && certificates.#covers(kept)) {
      identity.replace(kept, 'acme');
      certificates.#scheduleRenewal(kept);
    } else {
      certificates.#schedule(0);
    }
    return certificates;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  get #certFile(): string {
    return path.join(this.#settings.dir, 'acme.crt');
  }

  get #keyFile(): string {
    return path.join(this.#settings.dir, 'acme.key');
  }

  #covers(pair: CertificatePair): boolean {
    return parseCertificatePair(pair).checkHost(this.#settings.hostname) !== undefined;
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith(CHALLENGE_PATH)) {
      const keyAuthorization = this.#challenges.get(url.slice(CHALLENGE_PATH.length));
      res.writeHead(keyAuthorization ? 200 : 404, { 'content-type': 'text/plain' }).end(keyAuthorization ?? 'no such challenge');
      return;
    }
    // Port 80 is where people type the bare name: send them to HTTPS.
    res.writeHead(308, { location: `https://${this.#settings.hostname}:${this.#settings.httpsPort}${url}` }).end();
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    // setTimeout holds at most 2^31-1 ms (24.8 days); a longer wait is taken in steps.
    const step = Math.min(delayMs, 2 ** 31 - 1);
    this.#timer = setTimeout(() => (step < delayMs ? this.#schedule(delayMs - step) : void this.#order()), step);
  }

  /** Renews when a third of the certificate's lifetime is left (Let's Encrypt's advice: 30 of 90 days). */
  #scheduleRenewal(pair: CertificatePair): void {
    const certificate = parseCertificatePair(pair);
    const from = new Date(certificate.validFrom).getTime();
    const to = new Date(certificate.validTo).getTime();
    const renewAt = to - (to - from) / 3;
    this.#logger.info({ validTo: new Date(to).toISOString(), renewAt: new Date(renewAt).toISOString() }, 'ACME certificate in service');
    this.#schedule(Math.max(0, renewAt - Date.now()));
  }

  async #order(): Promise<void> {
    const { hostname, email, directoryUrl } = this.#settings;
    this.#logger.info({ hostname, directoryUrl }, 'ordering a certificate over ACME');
    try {
      const client = new acme.Client({ directoryUrl, accountKey: await this.#accountKey() });
      const [key, csr] = await acme.crypto.createCsr({ commonName: hostname, altNames: [hostname] }, await acme.crypto.createPrivateEcdsaKey());
      const cert = await client.auto({
        csr,
        email,
        termsOfServiceAgreed: true,
        challengePriority: ['http-01'],
        // The CA's own check says what is wrong; ours would ask port 80 through this host's DNS.
        skipChallengeVerification: true,
        challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
          this.#challenges.set(challenge.token, keyAuthorization);
        },
        challengeRemoveFn: async (_authz, challenge) => {
          this.#challenges.delete(challenge.token);
        },
      });
      if (this.#stopped) return;
      const pair = { cert, key: key.toString() };
      this.#identity.replace(pair, 'acme');
      fs.mkdirSync(this.#settings.dir, { recursive: true, mode: 0o700 });
      writePrivate(this.#keyFile, pair.key);
      fs.writeFileSync(this.#certFile, pair.cert);
      this.#backoff.reset();
      this.#logger.info({ certificate: this.#identity.summary }, 'ACME certificate obtained');
      this.#scheduleRenewal(pair);
    } catch (error) {
      if (this.#stopped) return;
      const retryMs = this.#backoff.next();
      this.#logger.error(
        { hostname, directoryUrl, reason: error instanceof Error ? error.message : String(error), retryInSeconds: retryMs / 1000, serving: this.#identity.source },
        'ACME certificate order failed; still serving the current certificate',
      );
      this.#schedule(retryMs);
    }
  }

  /** The ACME account's key, made once and kept (mode 0600); it never reaches a log. */
  async #accountKey(): Promise<Buffer> {
    const file = path.join(this.#settings.dir, 'acme-account.key');
    try {
      return fs.readFileSync(file);
    } catch {
      const key = await acme.crypto.createPrivateEcdsaKey();
      fs.mkdirSync(this.#settings.dir, { recursive: true, mode: 0o700 });
      writePrivate(file, key.toString());
      return key;
    }
  }
}
