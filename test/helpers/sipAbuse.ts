// Hostile and malformed SIP for the abuse test and benchmark: what a scanner,
// a fuzzer or a flooder sends a public SIP port, over UDP and TCP, from many
// loopback source addresses (127.x.y.z are all this machine's on Linux), with
// every response the gateway sends back counted by status.
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { waitFor } from './wait.ts';

/**
 * What is sent. Malformed: `garbage` (random bytes), `truncated` (an INVITE cut
 * short), `oversized` (over the engine's 64 KiB on TCP, as large as a datagram
 * gets on UDP), `badContentLength` (negative, huge, not a number, longer than
 * the body), `headerFlood` (thousands of headers), `longLine` (one header line
 * of tens of KiB). Well formed but hostile: `reinviteNoDialog` (a re-INVITE
 * whose dialog does not exist), `byeNoDialog`, `cancelNoDialog`,
 * `ackNoDialog`, `inviteFlood` (new INVITEs with unusable SDP from one address),
 * `register` (REGISTERs, each from an address of its own in a flood).
 */
export const HOSTILE_KINDS = [
  'garbage',
  'truncated',
  'oversized',
  'badContentLength',
  'headerFlood',
  'longLine',
  'reinviteNoDialog',
  'byeNoDialog',
  'cancelNoDialog',
  'ackNoDialog',
  'inviteFlood',
  'register',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

/** Kinds after which a TCP stream cannot be framed any more (the gateway closes the connection). */
const BREAKS_STREAM: ReadonlySet<HostileKind> = new Set(['garbage', 'oversized', 'badContentLength', 'truncated']);

export type Transport = 'udp' | 'tcp';

/** Where the gateway listens, as the hostile side addresses it. */
export interface SipTarget {
  address: string;
  port: number;
}

/** A small deterministic generator (mulberry32), so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface RequestParts {
  method: string;
  uri: string;
  transport: Transport;
  from: { address: string; port: number };
  /** A To tag makes it an in-dialog request. */
  toTag?: string;
  cseq?: number;
  callId?: string;
  extra?: string[];
  body?: string;
  /** Written as is (default: the body's length). */
  contentLength?: string;
}

/** A Call-ID that names the kind of message it came in (`<kind>.<uuid>`), so answers are told apart by kind. */
function hostileCallId(kind: string): string {
  return `${kind}.${randomUUID()}`;
}

function request(parts: RequestParts): string {
  const id = parts.callId ?? randomUUID();
  const tag = id.slice(id.indexOf('.') + 1, id.indexOf('.') + 9);
  const body = parts.body ?? '';
  const via = parts.transport === 'udp' ? 'UDP' : 'TCP';
  return [
    `${parts.method} ${parts.uri} SIP/2.0`,
    `Via: SIP/2.0/${via} ${parts.from.address}:${parts.from.port};branch=z9hG4bK${randomUUID()};rport`,
    `From: <sip:+15559990000@${parts.from.address}>;tag=${tag}`,
    `To: <${parts.uri}>${parts.toTag ? `;tag=${parts.toTag}` : ''}`,
    `Call-ID: ${id}`,
    `CSeq: ${parts.cseq ?? 1} ${parts.method}`,
    `Contact: <sip:abuser@${parts.from.address}:${parts.from.port}>`,
    'Max-Forwards: 70',
    'User-Agent: abuse-test',
    ...(parts.extra ?? []),
    `Content-Length: ${parts.contentLength ?? Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

/** A PCMA offer to `address` (port 9, discard: nothing is listening for the gateway's audio). */
export function sdpOffer(address: string): string {
  return ['v=0', `o=abuser 1 1 IN IP4 ${address}`, 's=-', `c=IN IP4 ${address}`, 't=0 0', 'm=audio 9 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000', ''].join('\r\n');
}

/** The first header block ends in at most this many bytes on UDP (a datagram's limit, with room for the rest). */
const UDP_HEAD_ROOM = 60_000;

/**
 * One hostile message of `kind`, sent from `from` to `target` over `transport`. `random` varies
 * sizes and cut points; the numbered variants of a kind rotate with `n`.
 */
export function hostileMessage(kind: HostileKind, n: number, target: SipTarget, from: { address: string; port: number }, transport: Transport, random: () => number): Buffer {
  const uri = `sip:1555${String(n % 10_000).padStart(4, '0')}@${target.address}:${target.port}`;
  const base = { uri, transport, from, callId: hostileCallId(kind) };
  switch (kind) {
    case 'garbage': {
      const bytes = Buffer.alloc(1 + Math.floor(random() * 1400));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      // Every other one starts like a request, so it gets past the first byte's test.
      if (n % 2 === 0) bytes.write('INVITE sip:x SIP/2.0\r\nVia: ', 'latin1');
      return bytes;
    }
    case 'truncated': {
      const whole = Buffer.from(request({ ...base, method: 'INVITE', extra: ['Content-Type: application/sdp'], body: sdpOffer(from.address) }));
      return whole.subarray(0, 1 + Math.floor(random() * (whole.length - 2)));
    }
    case 'oversized': {
      // TCP: past the 64 KiB bound, declared (Content-Length) or with no end of headers at all.
      if (transport === 'tcp') {
        if (n % 2 === 0) return Buffer.from(request({ ...base, method: 'MESSAGE', extra: ['Content-Type: text/plain'], body: 'x'.repeat(100_000) }));
        return Buffer.from(`OPTIONS ${uri} SIP/2.0\r\nX-Endless: ${'y'.repeat(80_000)}`);
      }
      return Buffer.from(request({ ...base, method: 'MESSAGE', extra: ['Content-Type: text/plain'], body: 'x'.repeat(UDP_HEAD_ROOM) }));
    }
    case 'badContentLength': {
      const lengths = ['-1', '99999999999', 'abc', '4000', '', '1e3', '0x20', '12 34'];
      return Buffer.from(request({ ...base, method: 'OPTIONS', body: 'v=0\r\n', contentLength: lengths[n % lengths.length] }));
    }
    case 'headerFlood': {
      // 1000 to 2500 headers (about 20 bytes each), and every other time 150 Vias among them, which a
      // response would carry back: within a datagram either way.
      const count = 1000 + Math.floor(random() * 1500);
      const extra = Array.from({ length: count }, (_, i) => `X-Flood-${i}: ${i}`);
      if (n % 2 === 0) for (let i = 0; i < 150; i++) extra.splice(i * 5, 0, `Via: SIP/2.0/UDP 198.51.100.${i}:5060;branch=z9hG4bK${n}x${i}`);
      return Buffer.from(request({ ...base, method: 'OPTIONS', extra }));
    }
    case 'longLine': {
      const length = 20_000 + Math.floor(random() * (UDP_HEAD_ROOM - 25_000));
      // A folded line (continuations) every other time: the parser joins them.
      const value = n % 2 === 0 ? 'z'.repeat(length) : Array.from({ length: length / 100 }, () => 'w'.repeat(98)).join('\r\n ');
      return Buffer.from(request({ ...base, method: 'OPTIONS', extra: [`Subject: ${value}`] }));
    }
    case 'reinviteNoDialog':
      return Buffer.from(request({ ...base, method: 'INVITE', toTag: randomUUID().slice(0, 8), cseq: 2, extra: ['Content-Type: application/sdp'], body: sdpOffer(from.address) }));
    case 'byeNoDialog':
      return Buffer.from(request({ ...base, method: 'BYE', toTag: randomUUID().slice(0, 8), cseq: 3 }));
    case 'cancelNoDialog':
      return Buffer.from(request({ ...base, method: 'CANCEL' }));
    case 'ackNoDialog':
      return Buffer.from(request({ ...base, method: 'ACK', toTag: randomUUID().slice(0, 8) }));
    case 'inviteFlood':
      return Buffer.from(request({ ...base, method: 'INVITE', extra: ['Content-Type: application/sdp'], body: 'this is not SDP' }));
    case 'register':
      return Buffer.from(request({ ...base, method: 'REGISTER', uri: `sip:${target.address}:${target.port}`, extra: ['Expires: 3600'] }));
  }
}

/**
 * A request that always gets a 400 at once (no Via is unreadable, its CSeq is), answered in the
 * order it arrived: once its answer is back, every datagram sent before it has been taken in.
 */
function probe(target: SipTarget, from: { address: string; port: number }, id: string): Buffer {
  return Buffer.from(request({ method: 'OPTIONS', uri: `sip:probe@${target.address}:${target.port}`, transport: 'udp', from, callId: id }).replace(/CSeq: 1 OPTIONS/, 'CSeq: x OPTIONS'));
}

const STATUS = /SIP\/2\.0 (\d{3}) /g;

/**
 * Sends hostile messages to one gateway and counts what it answers. UDP goes from one socket
 * per source address (bound as needed); TCP over a connection per call of `tcp()`.
 */
export class HostileTraffic {
  readonly target: SipTarget;
  /** Messages sent, by kind and transport. */
  readonly sent = new Map<string, number>();
  /** Responses received, by status code (retransmissions included). */
  readonly responses = new Map<number, number>();
  /** UDP: the Call-IDs answered, by kind and status (each message once, whatever its retransmissions). */
  readonly #answered = new Map<string, Set<string>>();
  readonly #udp = new Map<string, Promise<dgram.Socket>>();
  readonly #probes = new Set<string>();
  readonly #random: () => number;

  constructor(target: SipTarget, seed = 15) {
    this.target = target;
    this.#random = seededRandom(seed);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.sent.values()) sum += count;
    return sum;
  }

  /** Sent messages of `kind` (over both transports unless `transport` is given). */
  count(kind: string, transport?: Transport): number {
    return transport ? (this.sent.get(`${kind}/${transport}`) ?? 0) : this.count(kind, 'udp') + this.count(kind, 'tcp');
  }

  /** How many UDP messages of `kind` got at least one answer with one of `statuses`. */
  answered(kind: HostileKind, ...statuses: number[]): number {
    const callIds = new Set<string>();
    for (const status of statuses) for (const id of this.#answered.get(`${kind}/${status}`) ?? []) callIds.add(id);
    return callIds.size;
  }

  /** How many UDP messages of `kind` got any answer. */
  answeredAtAll(kind: HostileKind): number {
    const callIds = new Set<string>();
    for (const [key, ids] of this.#answered) if (key.startsWith(`${kind}/`)) for (const id of ids) callIds.add(id);
    return callIds.size;
  }

  /** One datagram of `kind` from `source`. */
  async udp(kind: HostileKind, source: string): Promise<void> {
    const socket = await this.#socket(source);
    const data = hostileMessage(kind, this.total, this.target, { address: source, port: socket.address().port }, 'udp', this.#random);
    await this.#send(socket, data);
    this.#count(kind, 'udp');
  }

  /** Raw bytes as one datagram from `source`, counted as `kind` (for messages made elsewhere). */
  async udpRaw(kind: string, source: string, data: Buffer | string): Promise<void> {
    await this.#send(await this.#socket(source), Buffer.from(data));
    this.#count(kind, 'udp');
  }

  /** The UDP socket of `source` (its responses are counted; listen for more on it). */
  socket(source: string): Promise<dgram.Socket> {
    return this.#socket(source);
  }

  /**
   * One TCP connection from `source` carrying `kinds` one after another, each written as a
   * separate segment; resolves once the gateway closed it (after a message that breaks the
   * stream) or, when it stays open, after our FIN and its answer.
   */
  async tcp(kinds: HostileKind[], source: string, timeoutMs = 10_000): Promise<void> {
    const socket = net.connect({ host: this.target.address, port: this.target.port, localAddress: source });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {}); // a reset after the gateway gave up on the stream
    let tail = '';
    socket.on('data', (chunk: Buffer) => {
      // A status line may be split across chunks: scan with the end of the last one.
      const text = tail + chunk.toString('latin1');
      for (const match of text.matchAll(STATUS)) this.#answer(Number(match[1]));
      tail = text.slice(-16).replace(/^.*SIP\/2\.0 \d{3} /s, '');
    });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const from = { address: source, port: socket.localPort ?? 0 };
    for (const kind of kinds) {
      if (socket.destroyed) break;
      const data = hostileMessage(kind, this.total, this.target, from, 'tcp', this.#random);
      await new Promise<void>((resolve) => socket.write(data, () => resolve()));
      this.#count(kind, 'tcp');
      if (BREAKS_STREAM.has(kind)) break;
    }
    socket.end();
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    await closed;
    clearTimeout(timer);
  }

  /**
   * A request whose header never ends, streamed over TCP from `source` in 16 KiB writes until the
   * gateway gives up on it (answers it, or closes its side) or `maxBytes` are written. Resolves with
   * whether the gateway gave up first, and how much was written by then (loopback's socket buffers
   * take a few MiB before the answer is read).
   */
  async endlessHeader(source: string, maxBytes: number): Promise<{ gaveUp: boolean; written: number }> {
    const socket = net.connect({ host: this.target.address, port: this.target.port, localAddress: source });
    socket.on('error', () => {}); // a reset once the gateway has given up on the stream
    let gaveUp = false;
    socket.on('data', (chunk: Buffer) => void (gaveUp ||= /^SIP\/2\.0 \d{3} /.test(chunk.toString('latin1'))));
    socket.once('end', () => void (gaveUp = true));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let written = 0;
    const chunk = Buffer.alloc(16 * 1024, 'y');
    const write = (data: Buffer | string) => new Promise<void>((resolve) => socket.write(data, () => resolve()));
    await write(`OPTIONS sip:endless@${this.target.address}:${this.target.port} SIP/2.0\r\nVia: SIP/2.0/TCP ${source}:${socket.localPort};branch=z9hG4bK${randomUUID()}\r\nX-Endless: `);
    this.#count('endlessHeader', 'tcp');
    while (!gaveUp && !socket.destroyed && written < maxBytes) {
      await write(chunk);
      written += chunk.length;
      // A write to loopback completes at once: let the answer in between them.
      await new Promise((resolve) => setImmediate(resolve));
    }
    socket.destroy();
    await closed;
    return { gaveUp, written };
  }

  /**
   * Waits until the gateway has taken in (or the kernel dropped, its receive buffer full) every
   * datagram sent so far: they are answered in order. The probe is sent again every half second,
   * as it may be dropped too.
   */
  async drained(source: string, timeoutMs = 10_000): Promise<void> {
    const id = randomUUID();
    this.#probes.add(id);
    const socket = await this.#socket(source);
    let sentAt = 0;
    await waitFor('the probe answered (every datagram before it taken in)', async () => {
      if (!this.#probes.has(id)) return true;
      if (Date.now() - sentAt >= 500) {
        sentAt = Date.now();
        await this.#send(socket, probe(this.target, { address: source, port: socket.address().port }, id));
      }
      return false;
    }, timeoutMs, 5);
  }

  close(): void {
    for (const pending of this.#udp.values()) void pending.then((socket) => socket.close());
    this.#udp.clear();
  }

  #count(kind: string, transport: Transport): void {
    const key = `${kind}/${transport}`;
    this.sent.set(key, (this.sent.get(key) ?? 0) + 1);
  }

  #answer(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  /** Rejects when the datagram could not be sent (e.g. over the size a datagram can have). */
  #send(socket: dgram.Socket, data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => socket.send(data, this.target.port, this.target.address, (error) => (error ? reject(error) : resolve())));
  }

  #socket(source: string): Promise<dgram.Socket> {
    let pending = this.#udp.get(source);
    if (!pending) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (data) => {
        const text = data.toString('latin1', 0, 200);
        const status = /^SIP\/2\.0 (\d{3}) /.exec(text);
        if (!status) return;
        this.#answer(Number(status[1]));
        const callId = /\r\nCall-ID: ([^\r]+)/i.exec(data.toString('latin1'))?.[1];
        if (!callId) return;
        this.#probes.delete(callId);
        if (!callId.includes('.')) return;
        const key = `${callId.slice(0, callId.indexOf('.'))}/${status[1]}`;
        const ids = this.#answered.get(key) ?? new Set<string>();
        this.#answered.set(key, ids.add(callId));
      });
      pending = new Promise((resolve) => socket.bind(0, source, () => resolve(socket)));
      this.#udp.set(source, pending);
    }
    return pending;
  }
}

/**
 * A hostile caller with a dialog: calls a number (the PIN prompt answers), then storms the
 * dialog with re-INVITEs without waiting for answers (ACKing each 2xx it gets, or the gateway
 * would end the call for a missing ACK), and hangs up. Over UDP from `source`.
 */
export async function reinviteStorm(traffic: HostileTraffic, source: string, reinvites: number): Promise<void> {
  const target = traffic.target;
  const uri = `sip:15550999@${target.address}:${target.port}`;
  const callId = hostileCallId('reinviteInDialog');
  const fromTag = callId.slice(-8);
  let toTag: string | undefined;
  let remote = uri;
  const answered = new Set<number>();
  const send = (method: string, cseq: number, body = '') => {
    const headers = [
      `${method} ${method === 'INVITE' && cseq === 1 ? uri : remote} SIP/2.0`,
      `Via: SIP/2.0/UDP ${source}:${port};branch=z9hG4bK${randomUUID()};rport`,
      `From: <sip:+15559990001@${source}>;tag=${fromTag}`,
      `To: <${uri}>${toTag ? `;tag=${toTag}` : ''}`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} ${method}`,
      `Contact: <sip:abuser@${source}:${port}>`,
      'Max-Forwards: 70',
      ...(body ? ['Content-Type: application/sdp'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ];
    return traffic.udpRaw(method === 'INVITE' && cseq > 1 ? 'reinviteInDialog' : `storm${method}`, source, headers.join('\r\n'));
  };
  const socket = await traffic.socket(source);
  const port = socket.address().port;
  const onMessage = (data: Buffer) => {
    const text = data.toString('latin1');
    if (!text.includes(`Call-ID: ${callId}`)) return;
    const status = Number(/^SIP\/2\.0 (\d{3})/.exec(text)?.[1] ?? 0);
    const cseq = /\r\nCSeq: (\d+) INVITE/i.exec(text);
    if (!cseq || status < 200 || status >= 300) return;
    const seq = Number(cseq[1]);
    toTag ??= /\r\nTo: [^\r]*;tag=([^;\r]+)/i.exec(text)?.[1];
    remote = /\r\nContact: <?(sip:[^>;\r]+)/i.exec(text)?.[1] ?? remote;
    if (!answered.has(seq)) void send('ACK', seq);
    answered.add(seq);
  };
  socket.on('message', onMessage);
  try {
    await send('INVITE', 1, sdpOffer(source));
    await waitFor('the hostile call answered', () => answered.has(1), 10_000, 10);
    for (let cseq = 2; cseq < 2 + reinvites; cseq++) await send('INVITE', cseq, sdpOffer(source));
    await send('BYE', 2 + reinvites);
  } finally {
    socket.off('message', onMessage);
  }
}

/** A process's resident memory in MiB, from /proc/<pid>/status. */
export function rssMiB(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  if (kb === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kb) / 1024;
}

/** Datagrams the kernel dropped at a process's UDP socket on `port` so far, its receive buffer full (/proc/net/udp's last column). */
export function udpDrops(pid: number, port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const line = fs
    .readFileSync(`/proc/${pid}/net/udp`, 'utf8')
    .split('\n')
    .find((l) => l.trim().split(/\s+/)[1]?.endsWith(`:${hexPort}`));
  return Number(line?.trim().split(/\s+/).at(-1) ?? 0);
}
