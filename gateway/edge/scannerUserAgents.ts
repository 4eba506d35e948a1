/**
 * User agents of SIP scanning and toll-fraud tools. Nothing legitimate sends
 * them, and answering only confirms to the scanner that a SIP server is here,
 * so their requests are dropped unanswered.
 */
const SCANNERS = /friendly-scanner|sipvicious|sipcli|vaxsipuseragent|sundayddr|\biwar\b|sip-scan|sipscan|\bsmap\b|pplsip|voip-scanner/i;

export function isScannerUserAgent(userAgent: string | undefined): boolean {
  return userAgent !== undefined && SCANNERS.test(userAgent);
}
