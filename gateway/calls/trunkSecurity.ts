import net from 'node:net';
import type Srf from 'drachtio-srf';
import type { Logger } from '../../common/logger.ts';
import { parseCidr, type GatewayConfig } from '../config.ts';
import { DigestAuthenticator } from './DigestAuthenticator.ts';

/** Whether an address is in any of these CIDRs. */
function addressMatcher(cidrs: readonly string[]): (address: string) => boolean {
  const list = new net.BlockList();
  for (const entry of cidrs) {
    const cidr = parseCidr(entry)!;
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return (address) => list.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

/**
 * Who may call in: trusted trunks (SIP_TRUNK_SOURCES) and allowed sources
 * (SIP_ALLOWED_SOURCES) as they are, anyone else with the configured digest
 * credentials. `admit` returns true to go on; otherwise it has already
 * answered (401 challenge, or 403). Only a trunk may skip the PIN (`isTrunk`).
 */
export function createInboundGuard(inbound: GatewayConfig['inbound'], logger: Logger, onRefused: (address: string) => void = () => {}) {
  const isTrunk = addressMatcher(inbound.trunkSources);
  const isAllowed = addressMatcher(inbound.allowedSources);
  const digest = inbound.auth ? new DigestAuthenticator(inbound.auth, { nonceTtlMs: inbound.auth.nonceTtlSeconds * 1000 }) : undefined;

  return {
    /** A trusted trunk's X-Room header and DIDs are followed; anyone else's are not. */
    isTrunk,
    async admit(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<boolean> {
      if (isTrunk(req.source_address) || isAllowed(req.source_address)) return true;
      if (!digest) {
        onRefused(req.source_address);
        res.send(403, 'Forbidden - source not allowed', {});
        return false;
      }
      const verdict = digest.verify({ method: req.method, uri: req.uri, authorization: req.has('Authorization') ? req.get('Authorization') : undefined });
      if (verdict.ok) return true;
      logger.info({ from: req.source_address, why: verdict.why }, 'digest authentication refused');
      if (verdict.status === 403) {
        onRefused(req.source_address);
        res.send(403, 'Forbidden - wrong credentials', {});
        return false;
      }
      // Counted towards a block: bad credentials; not the challenge a caller without any (or with a stale nonce) gets first.
      if (req.has('Authorization') && !verdict.stale) onRefused(req.source_address);
      res.send(401, { headers: { 'WWW-Authenticate': verdict.challenge } });
      return false;
    },
  };
}
