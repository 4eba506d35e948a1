// The certificate the server presents when nobody gave it one: self-signed,
// for this host's names and addresses, made on first start and kept, so a
// browser that was told to accept it keeps accepting it. Made anew only when
// it no longer covers the host (a new address) or is about to expire.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { parseCertificatePair, type CertificatePair } from './TlsIdentity.ts';

const VALID_DAYS = 365;
const RENEW_WITHIN_MS = 30 * 24 * 3600_000;

/** localhost, the host name and every address of the host, and any `extra` (a public name). */
export function hostNames(extra: string[] = []): string[] {
  const addresses = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
  return [...new Set(['localhost', os.hostname(), ...extra, ...addresses].filter(Boolean))];
}

/** The kept self-signed pair in `dir`, or a new one written there (key mode 0600) when it does not fit `names`. */
export async function selfSignedCertificate(
  dir: string,
  names: string[],
): Promise<{ pair: CertificatePair; created: boolean; files: { cert: string; key: string } }> {
  const certFile = path.join(dir, 'self-signed.crt');
  const keyFile = path.join(dir, 'self-signed.key');
  const kept = readPair(certFile, keyFile);
  const files = { cert: certFile, key: keyFile };
  if (kept && fits(kept, names)) return { pair: kept, created: false, files };
  const pems = await selfsigned.generate([{ name: 'commonName', value: names.find((n) => !net.isIP(n) && n !== 'localhost') ?? 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + VALID_DAYS * 24 * 3600_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: names.map((n) => (net.isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  });
  const pair = { cert: pems.cert, key: pems.private };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  writePrivate(keyFile, pair.key);
  fs.writeFileSync(certFile, pair.cert);
  return { pair, created: true, files };
}

/** Writes a private key readable by its owner only (also when the file was there with wider rights). */
export function writePrivate(file: string, pem: string): void {
  fs.writeFileSync(file, pem, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** A kept pair, or undefined when it is missing or unreadable (then it is made anew). */
export function readPair(certFile: string, keyFile: string): CertificatePair | undefined {
  try {
    const pair = { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
    parseCertificatePair(pair);
    return pair;
  } catch {
    return undefined;
  }
}

function fits(pair: CertificatePair, names: string[]): boolean {
  const certificate = parseCertificatePair(pair);
  // checkIP compares addresses whatever their spelling (the SAN text spells IPv6 in full).
  const covers = (name: string) => (net.isIP(name) ? certificate.checkIP(name) : certificate.checkHost(name, { subject: 'never' })) !== undefined;
  return new Date(certificate.validTo).getTime() - Date.now() > RENEW_WITHIN_MS && names.every(covers);
}
