import net from 'node:net';
import type Srf from 'drachtio-srf';
import digestAuth from 'drachtio-mw-digest-auth';
import { parseCidr, type GatewayConfig } from '../config.ts';

/**
 * Who may call in: trunks and PBXs at allowed addresses, or anyone with the
 * configured digest credentials. Returns true to go on; otherwise it has
 * already answered (401 challenge, or 403).
 */
export function createInboundGuard(inbound: GatewayConfig['inbound']) {
  const allowed = new net.BlockList();
  for (const entry of inbound.allowedSources) {
    const cidr = parseCidr(entry)!;
    allowed.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  const challenge = inbound.auth
    ? digestAuth({
        realm: inbound.auth.realm,
        passwordLookup: (username, _realm, callback) =>
          callback(null, username === inbound.auth!.username ? inbound.auth!.password : null),
      })
    : undefined;

  return {
    /** Callers from allowed addresses are trunks we trust (e.g. their X-Room header). */
    isTrusted(address: string): boolean {
      const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
      return allowed.check(address, family);
    },
    admit(req: Srf.SrfRequest, res: Srf.SrfResponse): Promise<boolean> {
      if (this.isTrusted(req.source_address)) return Promise.resolve(true);
      if (!challenge) {
        res.send(403, 'Forbidden - source not allowed', {});
        return Promise.resolve(false);
      }
      return new Promise((resolve) => {
        // Responding (challenge or refusal) finishes the response; admitting calls next.
        (res as unknown as NodeJS.EventEmitter).once('finish', () => resolve(false));
        challenge(req, res, () => resolve(true));
      });
    },
  };
}
