// A SIP caller by hand over UDP, for what sipp cannot do: send a header it
// computed once, unchanged, in another call (a replay).
import { createHash, randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import { waitFor } from './wait.ts';

export interface SipResponse {
  status: number;
  /** First value of each header, by lower-case name. */
  headers: Record<string, string>;
  callId: string;
  cseq: number;
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** The Authorization a phone answers `challenge` (a WWW-Authenticate value) with: qop=auth, nc 1. */
export function digestAnswer(challenge: string, method: string, uri: string, username: string, password: string): string {
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? '';
  const realm = param('realm');
  const nonce = param('nonce');
  const cnonce = randomUUID().slice(0, 8);
  const response = md5(`${md5(`${username}:${realm}:${password}`)}:${nonce}:00000001:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="${cnonce}"`;
}

export class RawUac {
  readonly #socket: dgram.Socket;
  readonly #port: number;
  readonly #received: { text: string; response: SipResponse }[] = [];

  private constructor(socket: dgram.Socket, port: number) {
    this.#socket = socket;
    this.#port = port;
    socket.on('message', (data) => {
      const text = data.toString('utf8');
      const response = parseResponse(text);
      if (response) this.#received.push({ text, response });
    });
  }

  static async open(gatewayPort: number): Promise<RawUac> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return new RawUac(socket, gatewayPort);
  }

  uri(user: string): string {
    return `sip:${user}@127.0.0.1:${this.#port}`;
  }

  /** An INVITE with a PCMA offer in a new call; its final response, ACKed when it is a failure. */
  async invite(user: string, authorization?: string): Promise<SipResponse & { to: string; contact: string | undefined }> {
    const callId = randomUUID();
    const branch = `z9hG4bK${randomUUID()}`;
    const sdp = ['v=0', 'o=caller 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000', ''].join('\r\n');
    this.#send(this.#request('INVITE', this.uri(user), branch, callId, 1, `<${this.uri(user)}>`, [
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Content-Type: application/sdp',
    ], sdp));
    const { response, text } = await waitFor('a final response to the INVITE', () =>
      this.#received.find((r) => r.response.callId === callId && r.response.cseq === 1 && r.response.status >= 200),
    );
    const to = headerLine(text, 'to')!;
    if (response.status >= 300) this.#send(this.#request('ACK', this.uri(user), branch, callId, 1, to, []));
    else this.#send(this.#request('ACK', contactUri(response) ?? this.uri(user), `z9hG4bK${randomUUID()}`, callId, 1, to, []));
    return { ...response, to, contact: contactUri(response) };
  }

  /** Hangs up an answered call and waits for the 200. */
  async bye(answered: SipResponse & { to: string; contact: string | undefined }): Promise<void> {
    this.#send(this.#request('BYE', answered.contact ?? this.uri('board'), `z9hG4bK${randomUUID()}`, answered.callId, 2, answered.to, []));
    await waitFor('the BYE answered', () => this.#received.find((r) => r.response.callId === answered.callId && r.response.cseq === 2 && r.response.status >= 200));
  }

  close(): void {
    this.#socket.close();
  }

  #request(method: string, uri: string, branch: string, callId: string, cseq: number, to: string, extra: string[], body = ''): string {
    const { port } = this.#socket.address();
    return [
      `${method} ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=${branch};rport`,
      `From: <sip:+15551230999@127.0.0.1>;tag=${callId.slice(0, 8)}`,
      `To: ${to}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:caller@127.0.0.1:${port}>`,
      'Max-Forwards: 70',
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  #send(message: string): void {
    this.#socket.send(message, this.#port, '127.0.0.1');
  }
}

function parseResponse(text: string): SipResponse | undefined {
  const status = /^SIP\/2\.0 (\d{3})/.exec(text);
  if (!status) return undefined;
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n\r\n')[0]!.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (colon > 0 && !(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), headers, callId: headers['call-id'] ?? '', cseq: Number.parseInt(headers['cseq'] ?? '0', 10) };
}

function headerLine(text: string, name: string): string | undefined {
  return parseResponse(text)?.headers[name];
}

function contactUri(response: SipResponse): string | undefined {
  return /<([^>]+)>/.exec(response.headers['contact'] ?? '')?.[1];
}
