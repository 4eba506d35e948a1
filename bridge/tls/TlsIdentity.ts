// The certificate and key every TLS listener of this process presents (the
// HTTPS server now; SIP over TLS and TURN over TLS when they come). It is
// loaded and replaced in one place: whoever serves TLS takes the current pair
// and listens for 'change' to give new connections the new one.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import type { SecureContextOptions } from 'node:tls';

/** Where the current certificate came from. */
export type CertificateSource = 'self-signed' | 'files' | 'acme';

/** A certificate (PEM, the leaf first, then any intermediates) and its private key (PEM). */
export interface CertificatePair {
  cert: string;
  key: string;
}

export class CertificateError extends Error {
  /** Which half is wrong. */
  readonly part: 'cert' | 'key';
  constructor(part: CertificateError['part'], message: string) {
    super(message);
    this.name = 'CertificateError';
    this.part = part;
  }
}

/** Parses a pair and checks the key belongs to the leaf certificate; throws CertificateError naming the bad half. */
export function parseCertificatePair(pair: CertificatePair): crypto.X509Certificate {
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(pair.cert);
  } catch {
    throw new CertificateError('cert', 'not a PEM certificate');
  }
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(pair.key);
  } catch {
    throw new CertificateError('key', 'not a PEM private key');
  }
  if (!leaf.checkPrivateKey(key)) throw new CertificateError('key', 'the key does not belong to the certificate');
  return leaf;
}

/** Reads and checks an operator's pair (TLS_CERT, TLS_KEY); throws CertificateError naming the bad half. */
export function readCertificateFiles(certFile: string, keyFile: string): CertificatePair {
  const read = (part: CertificateError['part'], file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (error) {
      throw new CertificateError(part, `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  };
  const pair = { cert: read('cert', certFile), key: read('key', keyFile) };
  parseCertificatePair(pair);
  return pair;
}

/** The DNS names and IP addresses a certificate is for (its subjectAltName). */
export function certificateNames(certificate: crypto.X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter(Boolean);
}

/** What may be logged about a certificate (never the key). */
export interface CertificateSummary {
  source: CertificateSource;
  sha256: string;
  names: string[];
  issuer: string;
  validTo: string;
}

interface TlsIdentityEvents {
  change: [];
}

export class TlsIdentity extends EventEmitter<TlsIdentityEvents> {
  #pair: CertificatePair;
  #leaf: crypto.X509Certificate;
  #source: CertificateSource;

  constructor(pair: CertificatePair, source: CertificateSource) {
    super();
    this.#leaf = parseCertificatePair(pair);
    this.#pair = pair;
    this.#source = source;
  }

  /** Replaces the pair (checked first); listeners give it to new connections. */
  replace(pair: CertificatePair, source: CertificateSource): void {
    this.#leaf = parseCertificatePair(pair);
    this.#pair = pair;
    this.#source = source;
    this.emit('change');
  }

  get source(): CertificateSource {
    return this.#source;
  }

  get certificate(): crypto.X509Certificate {
    return this.#leaf;
  }

  /** For tls.createServer / server.setSecureContext. */
  get secureContextOptions(): SecureContextOptions {
    return { cert: this.#pair.cert, key: this.#pair.key };
  }

  get summary(): CertificateSummary {
    return {
      source: this.#source,
      sha256: this.#leaf.fingerprint256,
      names: certificateNames(this.#leaf),
      issuer: this.#leaf.issuer.replace(/\n/g, ', '),
      validTo: new Date(this.#leaf.validTo).toISOString(),
    };
  }
}
