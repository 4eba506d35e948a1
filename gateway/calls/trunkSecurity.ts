import net from 'node:net';
import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import { parseCidr, type GatewayConfig } from '../config.ts';
import { DigestAuthenticator } from './DigestAuthenticator.ts';

/**
 * Who may call in: trunks and PBXs at allowed addresses, or anyone with the
 * configured digest credentials. `admit` returns true to go on; otherwise it
 * has already answered (401 challenge, or 403).
 */
export function createInboundGuard(inbound: GatewayConfig['inbound'], logger: Logger, onRefused: (address: string) => void = () => {}) {
  const allowed = new net.BlockList();
  for (const entry of inbound.allowedSources) {
    const cidr = parseCidr(entry)!;
    allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  const digest = inbound.auth ? new DigestAuthenticator(inbound.auth, { nonceTtlMs: inbound.auth.nonceTtlSeconds * 1000 }) : undefined;
  const isTrusted = (address: string) => allowed.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');

  return {
    /** Callers from allowed addresses are trunks we trust (e.g. their X-Room header). */
    isTrusted,
    async admit(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<boolean> {
      if (isTrusted(req.source_address)) return true;
      if (!digest) {
        onRefused(req.source_address);
        res.send(403, 'Forbidden - source not allowed', {});
        return false;
      }
      const verdict = digest.verify({ method: req.method, uri: req.uri, authorization: req.has('Authorization') ? req.get('Authorization') : undefined });
      if (verdict.ok) return true;
      logger.info({ from: req.source_address, why: verdict.why }, 'digest authentication refused')
      // Counted towards a block: wrong credentials, and bad ones; not the challenge a caller without any (or with a stale nonce) gets first.
      if (verdict.status === 403 || (req.has('Authorization') && !verdict.challenge.includes('stale=true'))) onRefused(req.source_address);
      if (verdict.status === 401) res.send(401, { headers: { 'WWW-Authenticate': verdict.challenge } });
      else res.send(403, 'Forbidden - wrong credentials', {});
      return false;
    },
  };
}
