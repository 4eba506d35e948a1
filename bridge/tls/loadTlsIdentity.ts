import type { BridgeConfig } from '../config.ts';
import { hostNames, selfSignedCertificate } from './selfSigned.ts';
import { readCertificateFiles, TlsIdentity } from './TlsIdentity.ts';

/**
 * The certificate to start with: the operator's files, or the kept (or a new)
 * self-signed one for this host's names, `extraNames` (the announced address)
 * and PUBLIC_HOSTNAME. An ACME certificate replaces it once it comes.
 */
export async function loadTlsIdentity(tls: NonNullable<BridgeConfig['tls']>, extraNames: string[]): Promise<{ identity: TlsIdentity; created: boolean }> {
  if (tls.files) return { identity: new TlsIdentity(readCertificateFiles(tls.files.cert, tls.files.key), 'files'), created: false };
  const names = hostNames([...(tls.publicHostname ? [tls.publicHostname] : []), ...extraNames]);
  const { pair, created } = await selfSignedCertificate(tls.dir, names);
  return { identity: new TlsIdentity(pair, 'self-signed'), created };
}
