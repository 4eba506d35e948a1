// How a service (the SIP gateway, a recorder) checks the bridge's HTTPS
// certificate: against the system's CAs, plus BRIDGE_CA_FILE for bridges
// with self-signed or private certificates, or not at all when the operator
// says so (BRIDGE_TLS_INSECURE). The CA file is trusted for every origin: a
// deployment of several bridges sends services on to the room's bridge (and
// to another when one dies), each with a certificate of the deployment's CA,
// and that CA vouches only for what its operator issued. Skipping the check
// applies to the configured bridge's origin only. A bridge takes the same
// settings for its own connections to the other bridges of its deployment
// (bridgeToBridge).
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Agent, Pool, setGlobalDispatcher, type Dispatcher } from 'undici';
import { z } from 'zod';

/** A PEM file holding at least one certificate. */
export const pemCertificates = z.string().refine((file) => {
  try {
    return fs.readFileSync(file, 'utf8').includes('-----BEGIN CERTIFICATE-----');
  } catch {
    return false;
  }
}, 'no readable PEM certificate file there');

/** The settings, in the gateway's, the recorder's and the bridge's schemas alike. */
export const bridgeTrustEnv = {
  /** CAs (or the bridge's own certificate) to trust for an https:// BRIDGE_URL, beside the system's. */
  BRIDGE_CA_FILE: pemCertificates.optional(),
  /** Accept any certificate from the bridge: only on a network where nobody can pose as it. */
  BRIDGE_TLS_INSECURE: z.stringbool().default(false),
};

export interface BridgeTrust {
  caFile: string | undefined;
  insecure: boolean;
}

/** The TLS options for connections to the bridge (undefined: Node's defaults do). */
function connectOptions(trust: BridgeTrust): tls.ConnectionOptions | undefined {
  if (trust.insecure) return { rejectUnauthorized: false };
  if (trust.caFile) return { ca: [...tls.getCACertificates('default'), fs.readFileSync(trust.caFile, 'utf8')] };
  return undefined;
}

/** How a bridge reaches the other bridges: TLS options for ws's WebSocket (its cascade links), and a dispatcher for fetch (forwarded REST). */
export interface BridgeToBridge {
  tls: tls.ConnectionOptions;
  /** Undefined: the process's own (Node's defaults). */
  dispatcher: Dispatcher | undefined;
}

/**
 * A bridge's trust in the other bridges of its deployment, for its own
 * connections to them only (not the global dispatcher: the all-in-one's
 * gateway and recorder set that for their bridge). Every one of these
 * connections is to a bridge the room directory lists, so
 * BRIDGE_TLS_INSECURE holds for each of them.
 */
export function bridgeToBridge(trust: BridgeTrust): BridgeToBridge {
  const options = connectOptions(trust);
  return { tls: options ?? {}, dispatcher: options && new Agent({ connect: { ...options } }) };
}

/**
 * Makes this process's fetch and WebSocket (both undici's) check bridges as
 * configured: BRIDGE_CA_FILE's CAs beside the system's at every origin,
 * BRIDGE_TLS_INSECURE at `bridgeUrl`'s only. Nothing to do for default trust,
 * or for an insecure http:// bridge.
 */
export function trustBridge(bridgeUrl: string, trust: BridgeTrust): void {
  const bridge = new URL(bridgeUrl);
  const options = connectOptions(trust);
  if (!options) return;
  if (!trust.insecure) {
    setGlobalDispatcher(new Agent({ connect: { ...options } }));
    return;
  }
  if (bridge.protocol !== 'https:') return;
  setGlobalDispatcher(
    new Agent({
      factory: (origin, poolOptions) =>
        new Pool(origin, String(origin) === bridge.origin ? { ...poolOptions, connect: { ...options } } : poolOptions),
    }),
  );
}

/**
 * What a browser of this service must be told to load the bridge's pages:
 * Chromium checks certificates against its own store, so the certificate
 * the bridge shows now (checked here as configured) is pinned by its key.
 */
export async function chromiumTrustArgs(bridgeUrl: string, trust: BridgeTrust): Promise<string[]> {
  const bridge = new URL(bridgeUrl);
  const options = connectOptions(trust);
  if (bridge.protocol !== 'https:' || !options) return [];
  if (trust.insecure) return ['--ignore-certificate-errors'];
  const certificate = await new Promise<crypto.X509Certificate>((resolve, reject) => {
    const socket = tls.connect({ host: bridge.hostname, port: Number(bridge.port || 443), servername: tlsServerName(bridge.hostname), ...options }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new crypto.X509Certificate(raw));
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no TLS handshake with ${bridge.host} within 10 s`)));
  });
  return [`--ignore-certificate-errors-spki-list=${spkiSha256(certificate)}`];
}

/** SNI carries names only, never addresses (RFC 6066). */
function tlsServerName(host: string): string | undefined {
  return net.isIP(host.replace(/^\[|\]$/g, '')) ? undefined : host;
}

/** base64 SHA-256 of the certificate's public key (SubjectPublicKeyInfo): what Chromium's --ignore-certificate-errors-spki-list takes. */
export function spkiSha256(certificate: crypto.X509Certificate): string {
  return crypto.createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
}
