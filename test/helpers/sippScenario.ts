// Builds sipp XML scenarios for a caller (UAC) from steps, so each gateway
// test states its call flow in a few lines and the SIP boilerplate lives once.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FROM = 'From: caller <sip:+15551230123@[local_ip]:[local_port]>;tag=[pid]tag[call_number]';

/** `outOfDialog`: no To tag, as on an INVITE resent with credentials after a challenge. */
const dialogHeaders = (method: string, cseq: number, outOfDialog = false) => `
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      ${FROM}
      To: <sip:[service]@[remote_ip]:[remote_port]>${outOfDialog ? '' : '[peer_tag_param]'}
      Call-ID: [call_id]
      CSeq: ${cseq} ${method}
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70`;

const send = (body: string, retrans = true) => `  <send${retrans ? ' retrans="500"' : ''}><![CDATA[
${body}
  ]]></send>`;

const PCMA_OFFER = `v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15`;

/**
 * ACK of the final response just received: the INVITE's From and Call-ID, the
 * response's To (its tag included), Max-Forwards; `uri` and `branch` differ by case.
 */
const ack = (uri: string, cseq: number, branch: string) =>
  send(`
      ACK ${uri} SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=${branch}
      ${FROM}
      [last_To:]
      Call-ID: [call_id]
      CSeq: ${cseq} ACK
      Max-Forwards: 70
      Content-Length: 0
`, false);

/**
 * ACK of a non-2xx final response (17.1.1.3): part of the INVITE transaction, so
 * the INVITE's Request-URI and Via branch (sipp's `[branch-3]`: the branch of the
 * message three steps back, the INVITE before the optional 100 and the response).
 * With a new branch the server does not match it, keeps resending the response,
 * and drachtio-server answers the next INVITE of the call 491.
 */
const ackOfFailure = (cseq: number) => ack('sip:[service]@[remote_ip]:[remote_port]', cseq, '[branch-3]');

/** ACK of a 2xx: a transaction of its own (new branch), to the remote target (13.2.2.4). */
const ackOfSuccess = (cseq: number) => ack('[next_url]', cseq, '[branch]');

/** An SDP offer of one audio stream with these rtpmap lines (`<pt> <encoding>/<rate>`), for codec tests. */
export function audioOffer(rtpmaps: string[]): string {
  return [
    'v=0',
    'o=caller 1 1 IN IP[local_ip_type] [local_ip]',
    's=-',
    'c=IN IP[media_ip_type] [media_ip]',
    't=0 0',
    `m=audio [media_port] RTP/AVP ${rtpmaps.map((r) => r.split(' ')[0]).join(' ')}`,
    ...rtpmaps.map((r) => `a=rtpmap:${r}`),
  ].join('\n      ');
}

/**
 * INVITE offering PCMA + telephone-event (or `sdp`), then 200 and ACK;
 * `expect` other than 200 ends with ACK of the failure.
 */
export function invite(expect: 200 | 403 | 404 | 488 | 503 = 200, sdp = PCMA_OFFER, answerMatches?: string): string {
  const offer = send(`
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0${dialogHeaders('INVITE', 1)}
      Content-Type: application/sdp
      Content-Length: [len]

      ${sdp}
`);
  if (expect !== 200) return [offer, '  <recv response="100" optional="true"/>', `  <recv response="${expect}"/>`, ackOfFailure(1)].join('\n');
  // The call fails unless the 200's SDP answer matches `answerMatches` (a regular expression).
  const ok = answerMatches
    ? `  <recv response="200" rrs="true"><action><ereg regexp="${answerMatches}" search_in="body" check_it="true" assign_to="answer"/></action></recv>
  <Reference variables="answer"/>`
    : '  <recv response="200" rrs="true"/>';
  return [offer, '  <recv response="100" optional="true"/>', ok, ackOfSuccess(1)].join('\n');
}

/**
 * INVITE, 401 challenge, INVITE again with digest credentials (sipp's -au/-ap,
 * and -auth_uri <user>@<host>:<port>: sipp otherwise digests
 * sip:<remote_ip>:<remote_port>, not the Request-URI), then `expect`: 200 (ACKed in the dialog) or 403. sipp keeps
 * the 401's To tag for the dialog, so follow with expectBye(), not bye().
 * `staleAfterMs`: the caller answers the challenge only that much later, must
 * get a fresh one with stale=true, and answers that.
 */
export function inviteWithDigest(expect: 200 | 403, { staleAfterMs }: { staleAfterMs?: number } = {}): string {
  const offer = (cseq: number, auth: string) =>
    send(`
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0${dialogHeaders('INVITE', cseq, true)}${auth}
      Content-Type: application/sdp
      Content-Length: [len]

      ${PCMA_OFFER}
`);
  const stale =
    staleAfterMs === undefined
      ? []
      : [
          `  <pause milliseconds="${staleAfterMs}"/>`,
          offer(2, '\n      [authentication]'),
          '  <recv response="100" optional="true"/>',
          // The scenario fails unless this challenge says the nonce was only stale.
          '  <recv response="401" auth="true"><action><ereg regexp="stale=true" search_in="hdr" header="WWW-Authenticate:" check_it="true" assign_to="stale"/></action></recv>',
          ackOfFailure(2),
        ];
  const last = stale.length > 0 ? 3 : 2;
  return [
    offer(1, ''),
    '  <recv response="100" optional="true"/>',
    '  <recv response="401" auth="true"/>',
    ackOfFailure(1),
    ...stale,
    offer(last, '\n      [authentication]'),
    '  <recv response="100" optional="true"/>',
    expect === 200 ? '  <recv response="200" rrs="true"/>' : '  <recv response="403"/>',
    expect === 200 ? ackOfSuccess(last) : ackOfFailure(last),
    // Last: between a response and its ACK it would shift the ACK's [branch-3].
    ...(stale.length > 0 ? ['  <Reference variables="stale"/>'] : []),
  ].join('\n');
}

/**
 * A new OPTIONS or INVITE into flood control: either answered 200 (an INVITE's
 * call then ACKed and hung up) or refused 503 with a Retry-After (the call
 * fails without one). sipp ACKs the 503 without its INVITE's branch: the
 * gateway refuses statelessly and keeps no transaction to match it.
 */
export function answeredOrRateLimited(method: 'OPTIONS' | 'INVITE'): string {
  const body = method === 'INVITE' ? `Content-Type: application/sdp
      Content-Length: [len]

      ${PCMA_OFFER}` : 'Content-Length: 0';
  return [
    send(`
      ${method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0${dialogHeaders(method, 1)}
      ${body}
`),
    '  <recv response="100" optional="true"/>',
    `  <recv response="200" optional="true" rrs="true" next="answered"/>`,
    '  <recv response="503"><action><ereg regexp="[0-9]+" search_in="hdr" header="Retry-After:" check_it="true" assign_to="retryAfter"/></action></recv>',
    ...(method === 'INVITE' ? [ack('sip:[service]@[remote_ip]:[remote_port]', 1, '[branch]').replace('<send', '<send next="done"')] : []),
    '  <label id="answered"/>',
    ...(method === 'INVITE' ? [ackOfSuccess(1), bye(2)] : []),
    '  <label id="done"/>',
    '  <Reference variables="retryAfter"/>',
  ].join('\n');
}

/** An OPTIONS ping, as trunks send to see whether we are up; expects 200. */
export function optionsPing(): string {
  return [
    send(`
      OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0${dialogHeaders('OPTIONS', 1)}
      Content-Length: 0
`),
    '  <recv response="200"/>',
  ].join('\n');
}

/** One DTMF key as SIP INFO: `application/dtmf-relay` (Signal=, Duration=) or the bare `application/dtmf`. */
export function infoDigit(digit: string, cseq: number, type: 'dtmf-relay' | 'dtmf' = 'dtmf-relay'): string {
  const body = type === 'dtmf-relay' ? `Signal=${digit}\n      Duration=160` : digit;
  return [
    send(`
      INFO [next_url] SIP/2.0${dialogHeaders('INFO', cseq)}
      Content-Type: application/${type}
      Content-Length: [len]

      ${body}
`),
    '  <recv response="200"/>',
  ].join('\n');
}

/** A re-INVITE putting the call on hold (`sendonly`) or taking it off (`sendrecv`); the answer must mirror it. */
export function reinvite(direction: 'sendonly' | 'sendrecv', cseq: number): string {
  const mirrored = direction === 'sendonly' ? 'recvonly' : 'sendrecv';
  return [
    send(`
      INVITE [next_url] SIP/2.0${dialogHeaders('INVITE', cseq)}
      Content-Type: application/sdp
      Content-Length: [len]

      ${PCMA_OFFER}
      a=${direction}
`),
    '  <recv response="100" optional="true"/>',
    `  <recv response="200"><action><ereg regexp="a=${mirrored}" search_in="body" check_it="true" assign_to="answer"/></action></recv>`,
    '  <Reference variables="answer"/>',
    send(`
      ACK [next_url] SIP/2.0${dialogHeaders('ACK', cseq)}
      Content-Length: 0
`, false),
  ].join('\n');
}

/** Sends the G.711 A-law recording shipped with sipp as the caller's voice. */
export const playAudio = '  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>';

export const pause = (ms: number) => `  <pause milliseconds="${ms}"/>`;

/** Waits for the gateway to hang up, and confirms. */
export function expectBye(timeoutMs: number): string {
  return [
    `  <recv request="BYE" timeout="${timeoutMs}"/>`,
    send(`
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
`, false),
  ].join('\n');
}

/** Hangs up. */
export function bye(cseq: number): string {
  return [
    send(`
      BYE [next_url] SIP/2.0${dialogHeaders('BYE', cseq)}
      Content-Length: 0
`),
    '  <recv response="200"/>',
  ].join('\n');
}

/** Writes the scenario to a temporary file and returns its path. */
export function writeScenario(name: string, steps: string[]): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scenario-')), `${name}.xml`);
  fs.writeFileSync(file, `<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="${name}">\n${steps.join('\n')}\n</scenario>\n`);
  return file;
}

// --- The callee's side (UAS), for dial-out through a "trunk" that is sipp.

/** Receives the INVITE; fails the call unless its Request-URI starts with `uriPrefix`. */
export function expectInvite(uriPrefix: string): string {
  const pattern = uriPrefix.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  return `  <recv request="INVITE"><action><ereg regexp="^INVITE ${pattern}" search_in="msg" check_it="true" assign_to="uri"/></action></recv>
  <Reference variables="uri"/>`;
}

/** A response to the INVITE; 200 carries an SDP answer with PCMA + telephone-event. */
export function respond(status: 180 | 200 | 486, reason: string): string {
  const sdp =
    status === 200
      ? `Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=callee 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000`
      : 'Content-Length: 0';
  return send(`
      SIP/2.0 ${status} ${reason}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]callee[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>
      ${sdp}
`, false);
}

export const expectAck = '  <recv request="ACK"/>';
