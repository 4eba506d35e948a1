import dns from 'node:dns/promises';
import net from 'node:net';
import type { Peer, Protocol } from './SipTransport.ts';
import { parseUri } from './sipSyntax.ts';

/**
 * Where to send a request for `uri` (RFC 3263 without SRV/NAPTR: A record, port 5060 default,
 * `transport=` picks TCP). `protocol` forces the transport, as a dialog's does.
 */
export async function resolveTarget(uri: string, protocol?: Protocol): Promise<Peer> {
  const parsed = parseUri(uri.replace(/^<|>$/g, ''));
  if (!parsed || !parsed.host) throw new Error(`invalid request-uri: ${uri}`);
  if (parsed.scheme !== 'sip') throw new Error('requested protocol/transport not available');
  const transport = (parsed.params.get('transport') ?? 'udp').toLowerCase();
  if (!protocol && transport !== 'udp' && transport !== 'tcp') throw new Error('requested protocol/transport not available');
  const host = parsed.host.replace(/^\[|\]$/g, '');
  const address = net.isIP(host) ? host : (await dns.lookup(host, { family: 4 })).address;
  return { protocol: protocol ?? (transport as Protocol), address, port: parsed.port ?? 5060 };
}
