// Where a meeting may be streamed. A recorder connects wherever a stream URL
// points, from inside the operator's network, so an open destination is a
// way to reach internal services (a metadata endpoint, an admin port) or to
// leak a meeting to a host nobody vetted. Deny by default: a destination is
// allowed when its host matches STREAM_ALLOWED_HOSTS, or when every address
// it resolves to is public unicast (no loopback, private, link-local,
// metadata, carrier-grade NAT or reserved address).
import dns from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

export class StreamDestinationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamDestinationRefused';
  }
}

/** One STREAM_ALLOWED_HOSTS entry: a host name, `*.domain`, an address or a CIDR range. */
export type HostPattern = { kind: 'name'; name: string } | { kind: 'suffix'; suffix: string } | { kind: 'range'; range: [ipaddr.IPv4 | ipaddr.IPv6, number] };

/** Parses a pattern; throws naming the entry when it is none of the accepted forms. */
export function parseHostPattern(entry: string): HostPattern {
  const text = entry.trim().toLowerCase();
  if (text.startsWith('*.') && isHostName(text.slice(2))) return { kind: 'suffix', suffix: text.slice(1) };
  if (text.includes('://')) throw new Error(`${JSON.stringify(entry)} is a URL; list its host alone`);
  if (text.includes('/')) {
    try {
      return { kind: 'range', range: ipaddr.parseCIDR(text) };
    } catch {
      throw new Error(`${JSON.stringify(entry)} is not a CIDR range`);
    }
  }
  if (ipaddr.isValid(text)) {
    const address = ipaddr.parse(text);
    return { kind: 'range', range: [address, address.kind() === 'ipv4' ? 32 : 128] };
  }
  if (isHostName(text)) return { kind: 'name', name: text };
  throw new Error(`${JSON.stringify(entry)} is not a host name, *.domain, address or CIDR range`);
}

type Lookup = (host: string) => Promise<string[]>;
const systemLookup: Lookup = async (host) => (await dns.lookup(host, { all: true })).map((entry) => entry.address);

/** How long a destination's DNS lookup may take: the REST request or signaling reply waits on it. */
const LOOKUP_TIMEOUT_MS = 5000;

export class StreamDestinations {
  readonly #allowed: readonly HostPattern[];
  readonly #lookup: Lookup;
  readonly #lookupTimeoutMs: number;

  constructor(allowed: readonly HostPattern[], lookup: Lookup = systemLookup, lookupTimeoutMs = LOOKUP_TIMEOUT_MS) {
    this.#allowed = allowed;
    this.#lookup = lookup;
    this.#lookupTimeoutMs = lookupTimeoutMs;
  }

  /** Resolves when a recorder may stream to `url`; throws StreamDestinationRefused saying why not. */
  async check(url: string): Promise<void> {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const literal = ipaddr.isValid(host) ? [host] : undefined;
    if (!literal && this.#allowed.some((p) => (p.kind === 'name' ? p.name === host : p.kind === 'suffix' && host.endsWith(p.suffix)))) return;
    const addresses = literal ?? (await this.#resolve(host));
    if (addresses.length === 0) throw new StreamDestinationRefused(`stream host ${host} does not resolve`);
    for (const text of addresses) {
      const address = unmapped(ipaddr.parse(text));
      if (this.#allowed.some((p) => p.kind === 'range' && address.kind() === p.range[0].kind() && address.match(p.range))) continue;
      const range = address.range();
      if (range !== 'unicast') {
        throw new StreamDestinationRefused(
          `stream host ${host}${literal ? '' : ` (${text})`} is a ${range} address; add it to STREAM_ALLOWED_HOSTS to stream there`,
        );
      }
    }
  }

  /** The host's addresses; refused when it does not resolve, or not in time (dns.lookup itself cannot be given a deadline). */
  async #resolve(host: string): Promise<string[]> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StreamDestinationRefused(`stream host ${host} did not resolve within ${this.#lookupTimeoutMs} ms`)), this.#lookupTimeoutMs);
    });
    try {
      return await Promise.race([this.#lookup(host), late]);
    } catch (failure) {
      if (failure instanceof StreamDestinationRefused) throw failure;
      throw new StreamDestinationRefused(`stream host ${host} does not resolve`);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** ::ffff:10.0.0.1 is 10.0.0.1: judged by its IPv4 range, not as "ipv4Mapped". */
function unmapped(address: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() ? (address as ipaddr.IPv6).toIPv4Address() : address;
}

function isHostName(text: string): boolean {
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/.test(text);
}
