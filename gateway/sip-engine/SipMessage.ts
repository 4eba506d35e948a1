import { splitList } from './sipSyntax.ts';

export interface Header {
  /** Lower-case full name; compact forms are expanded. */
  key: string;
  /** Name as written on the wire. */
  name: string;
  value: string;
}

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', r: 'refer-to', u: 'allow-events',
};

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', rseq: 'RSeq', rack: 'RAck',
  'mime-version': 'MIME-Version', 'sip-etag': 'SIP-ETag', 'sip-if-match': 'SIP-If-Match',
};

export function headerKey(name: string): string {
  const key = name.trim().toLowerCase();
  return COMPACT[key] ?? key;
}

/** How the engine writes a header name: canonical for known headers, capitalized after dashes otherwise. */
export function headerName(name: string): string {
  const key = headerKey(name);
  if (CANONICAL[key]) return CANONICAL[key];
  if (/^x-/i.test(name)) return name.trim();
  return key.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/** Headers whose comma-separated values are separate entries (RFC 3261 7.3.1). */
const LIST_HEADERS = new Set(['via', 'route', 'record-route', 'contact']);

/** A SIP request or response: start line, ordered headers, raw body. */
export class SipMessage {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Header[] = [];
  body: Buffer = Buffer.alloc(0);

  static request(method: string, uri: string): SipMessage {
    const m = new SipMessage();
    m.method = method;
    m.uri = uri;
    return m;
  }

  static response(status: number, reason: string): SipMessage {
    const m = new SipMessage();
    m.status = status;
    m.reason = reason;
    return m;
  }

  get isRequest(): boolean {
    return this.method !== undefined;
  }

  get(name: string): string | undefined {
    const key = headerKey(name);
    return this.headers.find((h) => h.key === key)?.value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every value of a header, list headers split into their entries. */
  values(name: string): string[] {
    const key = headerKey(name);
    const raw = this.headers.filter((h) => h.key === key).map((h) => h.value);
    return LIST_HEADERS.has(key) ? raw.flatMap(splitList) : raw;
  }

  set(name: string, value: string): this {
    const key = headerKey(name);
    const index = this.headers.findIndex((h) => h.key === key);
    this.remove(name);
    const header = { key, name: headerName(name), value };
    if (index < 0) this.headers.push(header);
    else this.headers.splice(index, 0, header);
    return this;
  }

  append(name: string, value: string): this {
    this.headers.push({ key: headerKey(name), name: headerName(name), value });
    return this;
  }

  remove(name: string): this {
    const key = headerKey(name);
    this.headers = this.headers.filter((h) => h.key !== key);
    return this;
  }

  /** Replaces the top Via (the first entry, possibly inside a comma list). */
  setTopVia(value: string): void {
    const index = this.headers.findIndex((h) => h.key === 'via');
    if (index < 0) return;
    const entries = splitList(this.headers[index].value);
    entries[0] = value;
    this.headers[index] = { ...this.headers[index], value: entries.join(', ') };
  }

  startLine(): string {
    return this.isRequest ? `${this.method} ${this.uri} SIP/2.0` : `SIP/2.0 ${this.status} ${this.reason}`;
  }

  /** Wire form with CRLF line ends and a Content-Length that matches the body. */
  toBuffer(): Buffer {
    let head = `${this.startLine()}\r\n`;
    for (const h of this.headers) if (h.key !== 'content-length') head += `${h.name}: ${h.value}\r\n`;
    head += `Content-Length: ${this.body.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'utf8'), this.body]);
  }
}
