import { randomBytes, randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import path from 'node:path';
import Srf from 'drachtio-srf';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { SipEngine } from '../../gateway/sip-engine/SipEngine.ts';
import { freePort } from '../helpers/ports.ts';
import { runSipp, type SippOptions, type SippProcess, type SippResult, startListeningSipp } from '../helpers/sipp.ts';
import { waitFor } from '../helpers/wait.ts';

const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn', 'sip-engine');
const scenario = (name: string): string => path.join(import.meta.dirname, 'scenarios', name);
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendrecv\r\n';
const SECRET = 'cymru';

/** drachtio-srf objects as they really are where its type declarations differ. */
interface Dialog extends NodeJS.EventEmitter {
  readonly id: string;
  remote: { sdp: string };
  request(opts: { method: string; headers?: Record<string, string>; body?: string }): Promise<Srf.SrfResponse>;
  modify(sdp: string): Promise<string>;
  destroy(): Promise<unknown>;
}
interface SentRequest extends NodeJS.EventEmitter {
  cancel(): void;
}
type SrfRequestFn = (uri: string, opts: { method: string; headers: Record<string, string>; auth: { username: string; password: string } }) => Promise<SentRequest>;

interface Harness {
  engine: SipEngine;
  srf: Srf;
  /** `127.0.0.1:<sip port>` of the engine. */
  sip: string;
  sipPort: number;
  controlPort: number;
  /** Disconnects the app (once). */
  disconnect(): void;
  close(): Promise<void>;
}

/** An engine on free ports with a real drachtio-srf app connected; `routes` registers handlers before connecting. */
async function startHarness(routes: (srf: Srf) => void = () => undefined): Promise<Harness> {
  const [sipPort, controlPort] = [await freePort(), await freePort()];
  const engine = await SipEngine.start({ sipHost: '127.0.0.1', sipPort, controlHost: '127.0.0.1', controlPort, secret: SECRET, logger });
  const srf = new Srf();
  routes(srf);
  await new Promise<void>((resolve, reject) => {
    srf.connect({ host: '127.0.0.1', port: controlPort, secret: SECRET });
    srf.once('connect', (err: Error | null) => (err ? reject(err) : resolve()));
  });
  let connected = true;
  const disconnect = (): void => {
    if (connected) srf.disconnect();
    connected = false;
  };
  return {
    engine,
    srf,
    sip: `127.0.0.1:${sipPort}`,
    sipPort,
    controlPort,
    disconnect,
    async close() {
      disconnect();
      await engine.close();
    },
  };
}

/** Answers every INVITE with createUAS (callback form: a BYE right behind the ACK can beat an `await`). */
function answerCalls(srf: Srf, onDialog: (dialog: Dialog) => void = () => undefined): void {
  srf.invite((req, res) => {
    srf.createUAS(req, res, { localSdp: SDP }, (err, dialog) => {
      if (!err) onDialog(dialog as unknown as Dialog);
    });
  });
}

async function startListening(opts: Omit<SippOptions, 'localPort'>): Promise<{ port: number; sipp: SippProcess }> {
  const port = await freePort();
  return { port, sipp: await startListeningSipp({ ...opts, localPort: port }) };
}

/** A bare UDP SIP peer for exact message-level checks. */
async function udpPeer(): Promise<{ port: number; received: string[]; send(text: string, port: number): void; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const received: string[] = [];
  socket.on('message', (data) => received.push(data.toString()));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: socket.address().port,
    received,
    send: (text, port) => socket.send(Buffer.from(text.replace(/\n/g, '\r\n')), port, '127.0.0.1'),
    close: () => socket.close(),
  };
}

function bareRequest(method: string, peerPort: number, engine: string, id: string): string {
  return [
    `${method} sip:service@${engine} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peerPort};branch=z9hG4bK${id}`,
    `From: <sip:peer@127.0.0.1:${peerPort}>;tag=${id}`,
    `To: <sip:service@${engine}>`,
    `Call-ID: ${id}@peer`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:peer@127.0.0.1:${peerPort}>`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

const statuses = (received: string[]): string[] => received.map((m) => m.slice(0, m.indexOf('\r\n')));

/** What sipp said, for failure messages. */
const report = (result: SippResult): string => `${result.stderr}\n${result.stdout.slice(-2500)}`;

/** Messages/Retrans counts of a scenario screen line, e.g. `200 <----------`. */
function screenCounts(stdout: string, line: RegExp): { messages: number; retrans: number } {
  const matches = [...stdout.matchAll(new RegExp(`^\\s*${line.source}\\s+(?:E-RTD\\d\\s+)?(\\d+)\\s+(\\d+)`, 'gm'))];
  const last = matches.at(-1);
  return { messages: Number(last?.[1] ?? 0), retrans: Number(last?.[2] ?? 0) };
}

describe.concurrent('embedded SIP engine', () => {
  for (const transport of ['udp', 'tcp'] as const) {
    test(`sipp calls in over ${transport}: createUAS answers, sipp hangs up`, async () => {
      const destroyed: string[] = [];
      const h = await startHarness((srf) => answerCalls(srf, (dialog) => dialog.on('destroy', () => destroyed.push(dialog.id))));
      try {
        const result = await runSipp({ scenario: 'uac', remote: h.sip, localPort: await freePort(), transport, calls: 3, timeoutSeconds: 20 });
        expect(result.successful, report(result)).toBe(3);
        expect(result.code).toBe(0);
        await waitFor('dialogs destroyed', () => destroyed.length === 3);
        expect(h.engine.stats.dialogs).toBe(0);
      } finally {
        await h.close();
      }
    });

    test(`createUAC calls sipp over ${transport} through an outbound proxy; the app hangs up`, async () => {
      const h = await startHarness();
      try {
        const { port, sipp } = await startListening({ scenario: 'uas', transport, calls: 1, timeoutSeconds: 20 });
        // The Request-URI's host does not resolve: only the proxy (the 4th wire field) says where to send.
        const proxy = `sip:127.0.0.1:${port}${transport === 'tcp' ? ';transport=tcp' : ''}`;
        const options = { localSdp: SDP, proxy, headers: { 'X-Test': 'uac' } };
        const dialog = (await h.srf.createUAC('sip:service@pbx.invalid', options)) as unknown as Dialog;
        expect(dialog.remote.sdp).toContain('m=audio');
        expect(h.engine.stats.dialogs).toBe(1);
        await dialog.destroy();
        const result = await sipp.done;
        expect(result.successful, report(result)).toBe(1);
        expect(h.engine.stats.dialogs).toBe(0);
      } finally {
        await h.close();
      }
    });
  }

  test('CANCEL while ringing: the engine answers 200 and 487, the app sees the cancel', async () => {
    const canceled: string[] = [];
    const h = await startHarness((srf) => {
      srf.invite((req, res) => {
        req.on('cancel', () => canceled.push(req.get('Call-ID')));
        res.send(180);
      });
    });
    try {
      const result = await runSipp({ scenario: scenario('uac-cancel.xml'), remote: h.sip, localPort: await freePort(), calls: 2, timeoutSeconds: 20 });
      expect(result.successful, report(result)).toBe(2);
      await waitFor('app saw both cancels', () => canceled.length === 2);
    } finally {
      await h.close();
    }
  });

  test('req.cancel() from the app: sipp gets the CANCEL, the app gets 487', async () => {
    const h = await startHarness();
    try {
      const { port, sipp } = await startListening({ scenario: scenario('uas-ring-cancel.xml'), calls: 1, timeoutSeconds: 20 });
      let invite: SentRequest | undefined;
      // drachtio-srf calls cbRequest with (err, req), not as declared
      const cbRequest = ((_err: unknown, req: SentRequest) => (invite = req)) as unknown as (req: Srf.SrfRequest) => void;
      const call = h.srf.createUAC(`sip:service@127.0.0.1:${port}`, { localSdp: SDP }, {
        cbRequest,
        cbProvisional: (res) => {
          if (res.status === 180) invite?.cancel();
        },
      });
      await expect(call).rejects.toMatchObject({ status: 487 });
      const result = await sipp.done;
      expect(result.successful, report(result)).toBe(1);
    } finally {
      await h.close();
    }
  });

  test('in-dialog INFO and hold re-INVITE both ways', async () => {
    const seen = { infos: [] as string[], held: false, infoStatus: 0, answer: '', destroyed: false };
    const h = await startHarness((srf) =>
      answerCalls(srf, (dialog) => {
        dialog.on('info', (req, res) => {
          seen.infos.push(req.body);
          res.send(200);
        });
        dialog.on('hold', () => {
          seen.held = true;
          setImmediate(async () => {
            const info = await dialog.request({ method: 'INFO', headers: { 'Content-Type': 'application/dtmf-relay' }, body: 'Signal=1\r\nDuration=100\r\n' });
            seen.infoStatus = info.status;
            seen.answer = await dialog.modify(SDP.replace('40000', '40002'));
          });
        });
        dialog.on('destroy', () => (seen.destroyed = true));
      }),
    );
    try {
      const result = await runSipp({ scenario: scenario('uac-in-dialog.xml'), remote: h.sip, localPort: await freePort(), calls: 1, timeoutSeconds: 20 });
      expect(result.successful, report(result)).toBe(1);
      await waitFor('dialog destroyed', () => seen.destroyed);
      expect(seen.infos).toEqual([expect.stringContaining('Signal=5')]);
      expect(seen.held).toBe(true);
      expect(seen.infoStatus).toBe(200);
      expect(seen.answer).toContain('a=sendrecv');
    } finally {
      await h.close();
    }
  });

  test('REGISTER with digest auth through srf.request', async () => {
    const h = await startHarness();
    try {
      const { port, sipp } = await startListening({ scenario: scenario('uas-register-auth.xml'), calls: 1, timeoutSeconds: 20, keys: { password: 's3cret' } });
      const req = await (h.srf.request.bind(h.srf) as unknown as SrfRequestFn)(`sip:127.0.0.1:${port}`, {
        method: 'REGISTER',
        headers: { From: '<sip:alice@127.0.0.1>', To: '<sip:alice@127.0.0.1>', Contact: `<sip:alice@${h.sip}>`, Expires: '3600' },
        auth: { username: 'alice', password: 's3cret' },
      });
      const res = await new Promise<Srf.SrfResponse>((resolve) => req.on('response', (r: Srf.SrfResponse) => r.status >= 200 && resolve(r)));
      expect(res.status).toBe(200);
      const result = await sipp.done;
      expect(result.successful, report(result)).toBe(1);
    } finally {
      await h.close();
    }
  });

  test('a 2xx is retransmitted until ACKed; without an ACK the engine hangs up after 64*T1', async () => {
    let destroyReason = '';
    const h = await startHarness((srf) => answerCalls(srf, (dialog) => dialog.on('destroy', (_req: unknown, reason: string) => (destroyReason = reason))));
    try {
      const started = Date.now();
      const result = await runSipp({ scenario: scenario('uac-no-ack.xml'), remote: h.sip, localPort: await freePort(), calls: 1, timeoutSeconds: 50 });
      expect(result.successful, report(result)).toBe(1);
      // T1, 2T1, 4T1, then every T2 until 32 s: about ten retransmissions
      expect(screenCounts(result.stdout, /200 <-+/).retrans).toBeGreaterThanOrEqual(8);
      expect(Date.now() - started).toBeGreaterThanOrEqual(31_000);
      await waitFor('app told of the BYE', () => destroyReason !== '');
      expect(h.engine.stats.dialogs).toBe(0);
    } finally {
      await h.close();
    }
  }, 60_000);

  test('a retransmitted INVITE reaches the app once and gets the last response again; a merged one gets 482', async () => {
    let invites = 0;
    const h = await startHarness((srf) =>
      srf.invite((_req, res) => {
        invites++;
        res.send(180);
      }),
    );
    const peer = await udpPeer();
    try {
      const invite = bareRequest('INVITE', peer.port, h.sip, 'retrans1');
      peer.send(invite, h.sipPort);
      await waitFor('180 Ringing', () => statuses(peer.received).includes('SIP/2.0 180 Ringing'));
      peer.send(invite, h.sipPort);
      await waitFor('180 repeated', () => statuses(peer.received).filter((s) => s === 'SIP/2.0 180 Ringing').length === 2);
      // The same request on another branch is a merged request (8.2.2.2).
      peer.send(invite.replace('branch=z9hG4bKretrans1', 'branch=z9hG4bKretrans1fork'), h.sipPort);
      const loops = (): string[] => peer.received.filter((m) => m.startsWith('SIP/2.0 482'));
      await waitFor('482 to the merged request', () => loops().some((m) => m.includes('branch=z9hG4bKretrans1fork')));
      expect(loops()).toHaveLength(1);
      expect(invites).toBe(1);
      expect(statuses(peer.received)[0]).toBe('SIP/2.0 100 Trying');
    } finally {
      peer.close();
      await h.close();
    }
  });

  test('a non-2xx is resent until the ACK on its INVITE\'s branch; until then a new INVITE of the call gets 491, not the app', async () => {
    const invites: string[] = [];
    const h = await startHarness((srf) =>
      srf.invite((req, res) => {
        invites.push(req.get('CSeq'));
        res.send(401, { headers: { 'WWW-Authenticate': 'Digest realm="test", nonce="n1", algorithm=MD5' } });
      }),
    );
    const peer = await udpPeer();
    /** Status lines of the responses on `branch`. */
    const fromBranch = (branch: string): string[] => statuses(peer.received.filter((m) => new RegExp(`branch=${branch}(?![\\w-])`).test(m)));
    const invite = (branch: string, cseq: number): string =>
      bareRequest('INVITE', peer.port, h.sip, 'digest1').replace('branch=z9hG4bKdigest1', `branch=${branch}`).replace('CSeq: 1 INVITE', `CSeq: ${cseq} INVITE`);
    try {
      peer.send(invite('z9hG4bKdigest1', 1), h.sipPort);
      await waitFor('401', () => fromBranch('z9hG4bKdigest1').includes('SIP/2.0 401 Unauthorized'));
      const toTag = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(peer.received.find((m) => m.startsWith('SIP/2.0 401'))!)?.[1];
      expect(toTag).toBeTruthy();
      const ack = (branch: string): string =>
        bareRequest('ACK', peer.port, h.sip, 'digest1')
          .replace('branch=z9hG4bKdigest1', `branch=${branch}`)
          .replace(`To: <sip:service@${h.sip}>`, `To: <sip:service@${h.sip}>;tag=${toTag}`);

      // An ACK on a new branch is no part of the INVITE transaction: the 401 keeps coming (timer G).
      peer.send(ack('z9hG4bKdigest1ack'), h.sipPort);
      const before = fromBranch('z9hG4bKdigest1').filter((s) => s.startsWith('SIP/2.0 401')).length;
      await waitFor('401 resent after the stray ACK', () => fromBranch('z9hG4bKdigest1').filter((s) => s.startsWith('SIP/2.0 401')).length > before, 5000);

      // The retry with credentials (no To tag, CSeq 2) while the 401 awaits its ACK: 491, as drachtio-server answers.
      peer.send(invite('z9hG4bKdigest2', 2), h.sipPort);
      await waitFor('491 to the retry', () => fromBranch('z9hG4bKdigest2').includes('SIP/2.0 491 Request Pending'));
      expect(new Set(fromBranch('z9hG4bKdigest2'))).toEqual(new Set(['SIP/2.0 491 Request Pending']));
      expect(invites).toEqual(['1 INVITE']);

      // The ACK on the INVITE's branch completes it; the next retry is a new call for the app.
      peer.send(ack('z9hG4bKdigest1'), h.sipPort);
      peer.send(invite('z9hG4bKdigest3', 3), h.sipPort);
      await waitFor('the app got the retry', () => invites.length === 2);
      expect(invites).toEqual(['1 INVITE', '3 INVITE']);
    } finally {
      peer.close();
      await h.close();
    }
  });

  test('requests nobody routes get 503, and so does an INVITE whose app disconnects', async () => {
    const h = await startHarness((srf) => srf.invite(() => undefined));
    const peer = await udpPeer();
    try {
      peer.send(bareRequest('OPTIONS', peer.port, h.sip, 'noroute1'), h.sipPort);
      await waitFor('503 to OPTIONS', () => statuses(peer.received).includes('SIP/2.0 503 Service Unavailable'));
      peer.send(bareRequest('INVITE', peer.port, h.sip, 'orphan1'), h.sipPort);
      await waitFor('INVITE pending with the app', () => h.engine.stats.pendingIncoming === 1);
      h.disconnect();
      await waitFor('503 to the orphaned INVITE', () => peer.received.some((m) => m.startsWith('SIP/2.0 503') && m.includes('orphan1@peer')));
      peer.send(bareRequest('INVITE', peer.port, h.sip, 'late1'), h.sipPort);
      await waitFor('503 with no app', () => peer.received.some((m) => m.startsWith('SIP/2.0 503') && m.includes('late1@peer')));
    } finally {
      peer.close();
      await h.close();
    }
  });

  test('new calls are shared round-robin between the apps that route INVITE', async () => {
    const calls = [0, 0];
    const h = await startHarness((srf) => answerCalls(srf, () => calls[0]++));
    const second = new Srf();
    answerCalls(second, () => calls[1]++);
    await new Promise<void>((resolve, reject) => {
      second.connect({ host: '127.0.0.1', port: h.controlPort, secret: SECRET });
      second.once('connect', (err: Error | null) => (err ? reject(err) : resolve()));
    });
    try {
      await waitFor('both apps routed', () => h.engine.stats.appConnections === 2);
      const result = await runSipp({ scenario: 'uac', remote: h.sip, localPort: await freePort(), calls: 4, timeoutSeconds: 20 });
      expect(result.successful, report(result)).toBe(4);
      expect(calls).toEqual([2, 2]);
    } finally {
      second.disconnect();
      await h.close();
    }
  });

  test('a wrong secret is refused and the connection closed', async () => {
    const h = await startHarness();
    try {
      const socket = net.connect(h.controlPort, '127.0.0.1');
      const msgId = randomUUID();
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const payload = `${msgId}|authenticate|wrong|`;
      socket.write(`${Buffer.byteLength(payload)}#${payload}`);
      await closed;
      expect(received).toMatch(new RegExp(`^\\d+#[0-9a-f-]+\\|response\\|${msgId}\\|NO\\|incorrect secret$`));
    } finally {
      await h.close();
    }
  });

  test('thousands of malformed messages interleaved with calls: 400s where possible, every call completes', async () => {
    const h = await startHarness((srf) => answerCalls(srf));
    const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 1 << 22 });
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const fuzzPort = socket.address().port;
    const replies = new Map<string, string>();
    socket.on('message', (data) => {
      const text = data.toString();
      const branch = /branch=(z9hG4bK[\w-]+)/.exec(text)?.[1];
      if (branch) replies.set(branch, text.slice(0, text.indexOf('\r\n')));
    });

    const request = (branch: string, change: { omit?: string; set?: Record<string, string>; line?: string; body?: string } = {}): Buffer => {
      const headers: Record<string, string> = {
        Via: `SIP/2.0/UDP 127.0.0.1:${fuzzPort};branch=${branch}`,
        From: `<sip:fuzz@127.0.0.1>;tag=${branch.slice(-8)}`,
        To: '<sip:service@127.0.0.1>',
        'Call-ID': `${branch}@fuzz`,
        CSeq: '1 OPTIONS',
        'Max-Forwards': '70',
        ...change.set,
      };
      if (change.omit) delete headers[change.omit];
      const body = change.body ?? '';
      if (!('Content-Length' in headers)) headers['Content-Length'] = String(Buffer.byteLength(body));
      const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
      return Buffer.from(`${change.line ?? `OPTIONS sip:service@${h.sip} SIP/2.0`}\r\n${lines.join('\r\n')}\r\n\r\n${body}`);
    };
    // reply: the 400's reason phrase; false: must be dropped; undefined: either
    const kinds: Array<{ reply?: string | false; make: (branch: string) => Buffer }> = [
      { reply: false, make: () => Buffer.concat([Buffer.from([0xff]), randomBytes(200 + Math.floor(Math.random() * 800))]) },
      { reply: false, make: (b) => request(b, { omit: 'Via' }) },
      { reply: 'Missing From', make: (b) => request(b, { omit: 'From' }) },
      { reply: 'Missing To', make: (b) => request(b, { omit: 'To' }) },
      { reply: 'Missing Call-ID', make: (b) => request(b, { omit: 'Call-ID' }) },
      { reply: 'Missing CSeq', make: (b) => request(b, { omit: 'CSeq' }) },
      { reply: 'Bad CSeq', make: (b) => request(b, { set: { CSeq: 'one OPTIONS' } }) },
      { reply: 'CSeq Method Mismatch', make: (b) => request(b, { set: { CSeq: '1 INVITE' } }) },
      { reply: 'Bad Content-Length', make: (b) => request(b, { set: { 'Content-Length': '12x' }, body: 'hello' }) },
      { reply: 'Content-Length Mismatch', make: (b) => request(b, { set: { 'Content-Length': '500', 'Content-Type': 'text/plain' }, body: 'truncated body' }) },
      { reply: 'Bad Request Line', make: (b) => request(b, { line: `OPTIONS sip:service@${h.sip} SIP/3.0` }) },
      { reply: 'Malformed Header Line', make: (b) => request(b, { set: { 'Bad Header': 'x' } }) },
      // cut anywhere: answered or dropped depending on what survived, but never harmful
      { make: (b) => request(b, { set: { 'Content-Type': 'application/sdp' }, body: SDP }).subarray(0, 20 + Math.floor(Math.random() * 200)) },
    ];
    const sent = new Map<string, string | false | undefined>();
    const flood = async (): Promise<void> => {
      for (let i = 0; i < 3000; i++) {
        const kind = kinds[i % kinds.length];
        const branch = `z9hG4bKfuzz${i}x${randomBytes(3).toString('hex')}`;
        sent.set(branch, kind.reply);
        socket.send(kind.make(branch), h.sipPort, '127.0.0.1');
        if (i % 25 === 24) await new Promise((resolve) => setTimeout(resolve, 15));
      }
    };

    try {
      const [result] = await Promise.all([
        runSipp({ scenario: 'uac', remote: h.sip, localPort: await freePort(), calls: 50, rate: 25, timeoutSeconds: 30 }),
        flood(),
      ]);
      expect(result.successful, report(result)).toBe(50);
      expect(result.failed).toBe(0);
      const expected = [...sent].filter(([, reply]) => typeof reply === 'string');
      await waitFor('every 400 received', () => expected.every(([branch]) => replies.has(branch)), 10_000);
      for (const [branch, reply] of expected) expect(replies.get(branch)).toBe(`SIP/2.0 400 ${reply}`);
      for (const [branch, reply] of sent) if (reply === false) expect(replies.has(branch)).toBe(false);
      expect(h.engine.stats.malformed).toBeGreaterThanOrEqual(3000 - Math.ceil(3000 / kinds.length));

      // Over TCP a 70 KB header cannot be framed: the engine answers 400 and closes the connection.
      const tcp = net.connect(h.sipPort, '127.0.0.1');
      let answer = '';
      tcp.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      const closed = new Promise<void>((resolve) => tcp.once('close', () => resolve()));
      tcp.write(request('z9hG4bKhuge', { set: { Via: `SIP/2.0/TCP 127.0.0.1:${fuzzPort};branch=z9hG4bKhuge`, 'X-Padding': 'a'.repeat(70_000) } }));
      await closed;
      expect(answer).toMatch(/^SIP\/2\.0 400 Message Too Large\r\n/);

      // ...and the engine still takes calls.
      const after = await runSipp({ scenario: 'uac', remote: h.sip, localPort: await freePort(), transport: 'tcp', calls: 2, timeoutSeconds: 20 });
      expect(after.successful).toBe(2);
    } finally {
      socket.close();
      await h.close();
    }
  });
});
