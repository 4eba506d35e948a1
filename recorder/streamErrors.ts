/**
 * Says in words what went wrong with a live-stream destination. A refusal
 * before any media flowed is almost always a wrong stream key or URL.
 */
export function describeStreamFailure(url: string, reason: string, beforeMedia: boolean): string {
  const host = new URL(url).hostname;
  const service = /(^|\.)youtube\.com$/.test(host) ? 'YouTube' : /(^|\.)twitch\.tv$/.test(host) ? 'Twitch' : host;
  const why = reason ? ` (${reason})` : '';
  // ffmpeg's words for a TLS server whose certificate no trusted CA signed (or signed for another name).
  if (/certificate/i.test(reason)) return `${service}'s certificate is not trusted${why}`;
  if (beforeMedia) return service === host ? `${host} refused the stream${why}` : `${service} rejected the stream key${why}`;
  return `${service} dropped the stream${why}`;
}
