import dns from 'node:dns/promises';
import net from 'node:net';
import type { Peer, Protocol } from './SipTransport.ts';
import { parseUri } from './sipSyntax.ts';

const TRANSPORTS: readonly string[] = ['udp', 'tcp', 'tls'] satisfies Protocol[];

/**
 * Where to send a request for `uri` (RFC 3263 without SRV/NAPTR: A record, port 5060 default,
 * `transport=` picks TCP or TLS, `sips:` TLS on 5061). `protocol` forces the transport, as a
 * dialog's does. A TLS peer named by host name must show a certificate for that name.
 */
export async function resolveTarget(uri: string, protocol?: Protocol): Promise<Peer> {
  const parsed = parseUri(uri.replace(/^<|>$/g, ''));
  if (!parsed || !parsed.host) throw new Error(`invalid request-uri: ${uri}`);
  if (parsed.scheme !== 'sip' && parsed.scheme !== 'sips') throw new Error('requested protocol/transport not available');
  const transport = parsed.scheme === 'sips' ? 'tls' : (parsed.params.get('transport') ?? 'udp').toLowerCase();
  if (!protocol && !TRANSPORTS.includes(transport)) throw new Error('requested protocol/transport not available');
  const chosen = protocol ?? (transport as Protocol);
  const host = parsed.host.replace(/^\[|\]$/g, '');
  const named = !net.isIP(host);
  const address = named ? (await dns.lookup(host, { family: 4 })).address : host;
  return { protocol: chosen, address, port: parsed.port ?? (chosen === 'tls' ? 5061 : 5060), ...(named ? { serverName: host } : {}) };
}
