import { SipMessage } from './SipMessage.ts';
import type { Peer } from './SipTransport.ts';
import { formatVia, parseVia, withTag } from './sipSyntax.ts';

/** Reason phrases the engine uses for responses it generates itself. */
const REASONS: Record<number, string> = {
  100: 'Trying', 200: 'OK', 400: 'Bad Request', 408: 'Request Timeout', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 487: 'Request Terminated', 491: 'Request Pending',
  500: 'Server Internal Error', 503: 'Service Unavailable',
};

/**
 * RFC 3581 with rport forced on, as drachtio-server runs sofia (NTATAG_SERVER_RPORT(2)):
 * the top Via always gets `rport=<source port>`, and `received` when the address differs.
 */
export function stampVia(request: SipMessage, source: Peer): void {
  const top = request.values('via')[0];
  const via = top === undefined ? undefined : parseVia(top);
  if (!via) return;
  if (via.host !== source.address) via.params.set('received', source.address);
  via.params.set('rport', String(source.port));
  request.setTopVia(formatVia(via));
}

/** A response to `request` carrying its Via, From, To (tagged if `toTag`), Call-ID and CSeq (8.2.6.2). */
export function responseTo(request: SipMessage, status: number, reason = REASONS[status] ?? 'Unknown', toTag?: string): SipMessage {
  const response = SipMessage.response(status, reason);
  for (const h of request.headers) if (h.key === 'via') response.headers.push({ ...h });
  for (const name of ['from', 'to', 'call-id', 'cseq']) {
    const value = request.get(name);
    if (value !== undefined) response.append(name, name === 'to' && toTag && status > 100 ? withTag(value, toTag) : value);
  }
  return response;
}

/** A ready-made wire response for a request that never reaches a transaction (e.g. a 400). */
export function statelessResponse(request: SipMessage, status: number, reason?: string): Buffer {
  return responseTo(request, status, reason).toBuffer();
}
