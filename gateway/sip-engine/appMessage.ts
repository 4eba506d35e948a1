import { headerKey, type SipMessage } from './SipMessage.ts';
import { formatNameAddr, parseNameAddr, parseUri } from './sipSyntax.ts';

/** A partial SIP message from drachtio-srf: start line, the headers the app set, body. */
export interface AppMessage {
  startLine: string;
  headers: Array<{ name: string; value: string }>;
  body: Buffer;
}

/** Splits like drachtio-server's splitMsg: headers end at the first blank line, the rest is body. */
export function parseAppMessage(text: string): AppMessage {
  const blank = text.indexOf('\r\n\r\n');
  const head = blank < 0 ? text : text.slice(0, blank);
  const body = blank < 0 ? '' : text.slice(blank + 4);
  const [startLine = '', ...lines] = head.split(/\r\n/);
  const headers: AppMessage['headers'] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    // drachtio's makeTags drops headers whose names are not plain tokens
    if (!/^[A-Za-z0-9\-_]+$/.test(name)) continue;
    headers.push({ name, value: line.slice(colon + 1).trim() });
  }
  return { startLine: startLine.trim(), headers, body: Buffer.from(body, 'utf8') };
}

export function requestLine(startLine: string): { method: string; uri: string } | undefined {
  const m = /^([A-Z]+) (\S+)(?: SIP\/2\.0)?$/.exec(startLine);
  return m ? { method: m[1], uri: m[2] } : undefined;
}

export function statusLine(startLine: string): { status: number; reason: string } | undefined {
  const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(startLine);
  return m ? { status: Number(m[1]), reason: m[2] ?? '' } : undefined;
}

/** Methods drachtio-server will send for an app (its parseStartLine list). */
export const KNOWN_METHODS = new Set(['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'REGISTER', 'INFO', 'PRACK', 'UPDATE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY', 'REFER', 'PUBLISH']);

/** Headers an app may never set: the engine owns them (drachtio's immutable set). */
const IMMUTABLE = new Set(['via', 'route', 'rseq', 'record-route', 'content-length']);

export function appHeader(message: AppMessage, name: string): string | undefined {
  const key = headerKey(name);
  return message.headers.find((h) => headerKey(h.name) === key)?.value;
}

/**
 * Copies the app's headers onto `target`, except immutable ones and those in `skip`
 * (which the caller sets itself); `@localhost` in From/To/Contact/P-Asserted-Identity
 * becomes the engine's address, as drachtio-server's makeTags does.
 */
export function copyAppHeaders(message: AppMessage, target: SipMessage, skip: Set<string>, hostport: string): void {
  for (const { name, value } of message.headers) {
    const key = headerKey(name);
    if (IMMUTABLE.has(key) || skip.has(key)) continue;
    target.append(name, localize(key, value, hostport));
  }
}

export function localize(key: string, value: string, hostport: string): string {
  if (!value.includes('@localhost') || !['from', 'to', 'contact', 'p-asserted-identity'].includes(key)) return value;
  const addr = parseNameAddr(value);
  if (!addr) return value;
  addr.uri = addr.uri.replace(/@localhost(:\d+)?/, `@${hostport}`);
  return formatNameAddr(addr);
}

/** Content-Type for a body: the app's, or application/sdp when it looks like SDP; else an error (drachtio's rule). */
export function contentTypeFor(message: AppMessage): { contentType?: string; error?: string } {
  if (message.body.length === 0) return {};
  const given = appHeader(message, 'content-type');
  if (given) return { contentType: given };
  if (message.body.subarray(0, 3).toString() === 'v=0') return { contentType: 'application/sdp' };
  return { error: 'missing content-type' };
}

export function uriOf(nameAddr: string | undefined): string | undefined {
  if (!nameAddr) return undefined;
  const uri = parseNameAddr(nameAddr)?.uri;
  return uri && parseUri(uri) ? uri : undefined;
}
