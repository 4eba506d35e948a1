import { randomBytes } from 'node:crypto';

/** RFC 3261 grammar pieces the engine needs: URIs, name-addrs, Via, CSeq, and fresh identifiers. */

export interface SipUri {
  scheme: string;
  user?: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

export interface NameAddr {
  display: string;
  uri: string;
  params: Map<string, string | null>;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Map<string, string | null>;
}

export interface CSeq {
  seq: number;
  method: string;
}

export const BRANCH_COOKIE = 'z9hG4bK';
const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const HOST = /^(?:[A-Za-z0-9\-_.]+|\[[0-9A-Fa-f:.]+\])$/;

export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

function parseParams(s: string): Map<string, string | null> | undefined {
  const params = new Map<string, string | null>();
  if (s === '') return params;
  if (!s.startsWith(';')) return undefined;
  for (const part of s.slice(1).split(';')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (!name) return undefined;
    params.set(name, eq < 0 ? null : part.slice(eq + 1).trim());
  }
  return params;
}

export function formatParams(params: Map<string, string | null>): string {
  let s = '';
  for (const [name, value] of params) s += value === null ? `;${name}` : `;${name}=${value}`;
  return s;
}

/** sip:/sips: URIs are parsed fully; other absolute URIs (tel:) only by scheme. */
export function parseUri(s: string): SipUri | undefined {
  const colon = s.indexOf(':');
  if (colon <= 0 || /[\s<>]/.test(s)) return undefined;
  const scheme = s.slice(0, colon).toLowerCase();
  if (!/^[a-z][a-z0-9+\-.]*$/.test(scheme)) return undefined;
  const rest = s.slice(colon + 1);
  if (scheme !== 'sip' && scheme !== 'sips') return rest ? { scheme, host: '', params: new Map() } : undefined;
  const withoutHeaders = rest.split('?')[0];
  const at = withoutHeaders.lastIndexOf('@');
  const user = at >= 0 ? withoutHeaders.slice(0, at) : undefined;
  const hostPart = at >= 0 ? withoutHeaders.slice(at + 1) : withoutHeaders;
  const semi = hostPart.indexOf(';');
  const hostport = semi >= 0 ? hostPart.slice(0, semi) : hostPart;
  const params = parseParams(semi >= 0 ? hostPart.slice(semi) : '');
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(hostport);
  if (!m || !HOST.test(m[1]) || !params) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port === 0 || port > 65535)) return undefined;
  return { scheme, user: user || undefined, host: m[1].toLowerCase(), port, params };
}

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(value.slice(start).trim());
  return parts.filter((p) => p.length > 0);
}

export function parseNameAddr(value: string): NameAddr | undefined {
  const s = value.trim();
  // A quoted display name may hold '<' itself: the URI's bracket is the first one after it.
  const quotedDisplay = /^"(?:[^"\\]|\\.)*"/.exec(s)?.[0];
  const lt = s.indexOf('<', quotedDisplay?.length ?? 0);
  if (lt >= 0) {
    const gt = s.indexOf('>', lt);
    if (gt < 0) return undefined;
    const display = s.slice(0, lt).trim();
    if (display && display !== quotedDisplay && !/^[A-Za-z0-9\-.!%*_+`'~ \t]+$/.test(display)) return undefined;
    const uri = s.slice(lt + 1, gt).trim();
    const params = parseParams(s.slice(gt + 1).trim());
    if (!parseUri(uri) || !params) return undefined;
    return { display, uri, params };
  }
  // addr-spec form: parameters after the URI belong to the header, not the URI
  const semi = s.indexOf(';');
  const uri = semi >= 0 ? s.slice(0, semi) : s;
  const params = parseParams(semi >= 0 ? s.slice(semi) : '');
  if (!parseUri(uri) || !params || uri.includes('?')) return undefined;
  return { display: '', uri, params };
}

export function formatNameAddr(addr: NameAddr): string {
  return `${addr.display ? `${addr.display} ` : ''}<${addr.uri}>${formatParams(addr.params)}`;
}

export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return parseNameAddr(value)?.params.get('tag') ?? undefined;
}

/** The header value with `;tag=` added unless it already has one. */
export function withTag(value: string, tag: string): string {
  const addr = parseNameAddr(value);
  if (!addr) return value;
  if (!addr.params.get('tag')) addr.params.set('tag', tag);
  return formatNameAddr(addr);
}

export function parseVia(value: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-_.]+)(?:\s*:\s*(\d{1,5}))?\s*(;.*)?$/.exec(value.trim());
  if (!m) return undefined;
  const params = parseParams((m[4] ?? '').replace(/\s+/g, ''));
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (!params || (port !== undefined && (port === 0 || port > 65535))) return undefined;
  return { transport: m[1].toUpperCase(), host: m[2].toLowerCase(), port, params };
}

export function formatVia(via: Via): string {
  return `SIP/2.0/${via.transport} ${via.host}${via.port ? `:${via.port}` : ''}${formatParams(via.params)}`;
}

export function parseCSeq(value: string): CSeq | undefined {
  const m = /^(\d{1,10})\s+([A-Za-z0-9\-.!%*_+`'~]+)$/.exec(value.trim());
  if (!m) return undefined;
  const seq = Number(m[1]);
  return seq < 2 ** 31 ? { seq, method: m[2] } : undefined;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export const newBranch = (): string => `${BRANCH_COOKIE}${randomToken(8)}`;
export const newTag = (): string => randomToken(6);
export const newCallId = (): string => randomToken(12);
/** Initial CSeq for a new call: random, leaving room below 2^31 for later requests. */
export const newCSeq = (): number => 1 + Math.floor(Math.random() * 10_000);
