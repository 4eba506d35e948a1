import { headerKey, SipMessage } from './SipMessage.ts';
import { isToken, parseCSeq, parseNameAddr, parseUri, parseVia } from './sipSyntax.ts';

/** Largest SIP message the engine accepts on any transport. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Most header fields a message may carry. Real ones carry a few dozen (a Via and a Record-Route
 * per hop, 70 hops at most); 64 KiB of one-line headers is thousands of objects, which a
 * transaction then keeps for its 32 s of retransmissions: a flood of them grew the gateway's
 * live heap by some 300 KiB per message it answered (3 KiB refused).
 */
export const MAX_HEADERS = 256;

export type ParseResult =
  | { ok: true; message: SipMessage }
  /** `partial` holds what could be read, so a request with a usable Via can still get a 400. */
  | { ok: false; reason: string; partial?: SipMessage };

const REQUEST_LINE = /^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) ([^\r\n]*)$/;
const HEADER_LINE = /^([!#-'*+\-.0-9A-Z^-z|~]+)[ \t]*:[ \t]*(.*)$/;

function headerEnd(data: Buffer): { end: number; bodyStart: number } | undefined {
  const crlf = data.indexOf('\r\n\r\n');
  if (crlf >= 0) return { end: crlf, bodyStart: crlf + 4 };
  const lf = data.indexOf('\n\n');
  return lf >= 0 ? { end: lf, bodyStart: lf + 2 } : undefined;
}

/**
 * Parses one message. `stream` says it came over TCP, where Content-Length is mandatory
 * and framing already cut the message to its declared length.
 */
export function parseSipMessage(data: Buffer, stream: boolean): ParseResult {
  if (data.length > MAX_MESSAGE_BYTES) {
    return { ok: false, reason: 'Message Too Large', partial: readHead(data.subarray(0, MAX_MESSAGE_BYTES)).message };
  }
  const bounds = headerEnd(data);
  const { message, error } = readHead(bounds ? data.subarray(0, bounds.end) : data);
  if (!message) return { ok: false, reason: error ?? 'Bad Start Line' };
  if (error) return { ok: false, reason: error, partial: message };
  if (!bounds) return { ok: false, reason: 'Truncated Message', partial: message };

  const available = data.length - bounds.bodyStart;
  const lengthHeader = message.get('content-length');
  let length = available;
  if (lengthHeader !== undefined) {
    if (!/^\s*\d{1,9}\s*$/.test(lengthHeader)) return { ok: false, reason: 'Bad Content-Length', partial: message };
    length = Number(lengthHeader);
    if (length > available) return { ok: false, reason: 'Content-Length Mismatch', partial: message };
  } else if (stream) {
    return { ok: false, reason: 'Missing Content-Length', partial: message };
  }
  message.body = Buffer.from(data.subarray(bounds.bodyStart, bounds.bodyStart + length));

  const problem = checkMandatory(message);
  return problem ? { ok: false, reason: problem, partial: message } : { ok: true, message };
}

/** Start line and headers; stops at the first malformed line but keeps what came before. */
function readHead(head: Buffer): { message?: SipMessage; error?: string } {
  const lines = head.toString('utf8').split(/\r?\n/);
  while (lines.length > 0 && lines[0] === '') lines.shift();
  const startLine = lines.shift() ?? '';
  let message: SipMessage;
  const request = REQUEST_LINE.exec(startLine);
  const status = STATUS_LINE.exec(startLine);
  if (request) {
    message = SipMessage.request(request[1], request[2]);
  } else if (status) {
    message = SipMessage.response(Number(status[1]), status[2]);
  } else {
    // Reply only when it still reads as a request (method, space): the Via may let us answer.
    const method = /^([A-Za-z]+) /.exec(startLine)?.[1];
    if (!method) return {};
    message = SipMessage.request(method.toUpperCase(), '');
    return { message, error: readHeaders(message, lines) ?? 'Bad Request Line' };
  }
  return { message, error: readHeaders(message, lines) };
}

function readHeaders(message: SipMessage, lines: string[]): string | undefined {
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1])) line += ` ${lines[++i].trim()}`;
    if (line === '') continue;
    if (message.headers.length === MAX_HEADERS) return 'Too Many Headers';
    const m = HEADER_LINE.exec(line);
    if (!m) return 'Malformed Header Line';
    message.headers.push({ key: headerKey(m[1]), name: m[1], value: m[2].trim() });
  }
  return undefined;
}

function checkMandatory(message: SipMessage): string | undefined {
  if (message.isRequest && !parseUri(message.uri ?? '')) return 'Bad Request-URI';
  const vias = message.values('via');
  if (vias.length === 0) return 'Missing Via';
  if (!vias.every((v) => parseVia(v))) return 'Bad Via';
  for (const name of ['from', 'to'] as const) {
    const value = message.get(name);
    if (value === undefined) return `Missing ${name === 'from' ? 'From' : 'To'}`;
    if (!parseNameAddr(value)) return `Bad ${name === 'from' ? 'From' : 'To'}`;
  }
  const callId = message.get('call-id');
  if (!callId) return 'Missing Call-ID';
  if (/\s/.test(callId)) return 'Bad Call-ID';
  const cseqValue = message.get('cseq');
  if (cseqValue === undefined) return 'Missing CSeq';
  const cseq = parseCSeq(cseqValue);
  if (!cseq) return 'Bad CSeq';
  if (message.isRequest && (cseq.method !== message.method || !isToken(message.method ?? ''))) return 'CSeq Method Mismatch';
  const maxForwards = message.get('max-forwards');
  if (maxForwards !== undefined && !/^\d{1,3}$/.test(maxForwards)) return 'Bad Max-Forwards';
  return undefined;
}
