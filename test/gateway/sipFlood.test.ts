// Flood and brute-force control at the gateway's SIP edge, with sipp callers
// on different loopback addresses (127.0.0.x: each is a source of its own)
// against a real bridge and gateway: per-source rate limits (503 with
// Retry-After), a source blocked after wrong PINs over several calls (and the
// block shared through Redis, live and with gateways started later), the TCP idle timeout against a slowloris
// connection, the TCP connections cap, and scanners dropped unanswered.
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, withGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { TestRedis } from '../helpers/redis.ts';
import { startSipp } from '../helpers/sipp.ts';
import { answeredOrRateLimited, bye, expectBye, infoDigit, invite, optionsPing, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const IDLE_SECONDS = 2;

describe('SIP flood control', () => {
  let bridge: Bridge;
  let redis: TestRedis;
  let gw: TestGateway;
  /** A second gateway on the same Redis, for the shared block list. */
  let peer: TestGateway;
  let metricsPort: number;
  let host: SignalingClient;

  beforeAll(async () => {
    bridge = await startBridge();
    redis = await TestRedis.start();
    metricsPort = await freePort();
    gw = await startGateway(bridge, {
      IVR_DIGIT_TIMEOUT_SECONDS: '3',
      IVR_MAX_ATTEMPTS: '3',
      SIP_OPTIONS_PER_SECOND_PER_SOURCE: '2',
      SIP_INVITES_PER_SECOND_PER_SOURCE: '2',
      SIP_BLOCK_AFTER_FAILURES: '4',
      SIP_TCP_IDLE_SECONDS: String(IDLE_SECONDS),
      SIP_TCP_CONNECTIONS_PER_SOURCE: '3',
      REDIS_URL: redis.url,
      GATEWAY_METRICS_PORT: String(metricsPort),
    });
    peer = await startGateway(bridge, { REDIS_URL: redis.url });
    // Someone must be in the room for its PIN to exist.
    host = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    await host.request('join', { room: 'board', displayName: 'Host' });
  });

  afterAll(async () => {
    host?.close();
    await gw?.gateway.stop();
    await peer?.gateway.stop();
    await bridge?.stop();
    await redis?.stop();
  });

  const sipp = async (name: string, steps: string[], from: string, extra: { to?: TestGateway; calls?: number; rate?: number; service?: string } = {}) =>
    startSipp({
      scenario: writeScenario(name, steps),
      remote: `127.0.0.1:${(extra.to ?? gw).sipPort}`,
      localIp: from,
      localPort: await freePort(),
      calls: extra.calls ?? 1,
      rate: extra.rate,
      timeoutSeconds: 30,
      args: ['-s', extra.service ?? '15550100', '-mp', String(await freePort())],
    });

  /** One counter from the gateway's /metrics (labels as written there, e.g. `{method="OPTIONS"}`). */
  const metric = async (name: string, port = metricsPort): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };

  it.each(['OPTIONS', 'INVITE'] as const)('a flood of %s from one source gets 503 with Retry-After, another source still gets in', async (method) => {
    const limited = `gateway_sip_rate_limited_total{method="${method}"}`;
    const before = await metric(limited);
    // 30 requests in about a third of a second against 2 a second (bursts of 4).
    const flood = await sipp(`flood-${method}`, [answeredOrRateLimited(method)], '127.0.0.3', { calls: 30, rate: 100 });
    const flooded = await flood.done;
    // Every request was answered 200 or refused 503 with a Retry-After (else its call failed).
    expect(flooded.code, flooded.stdout.slice(-2000)).toBe(0);
    const refused = (await metric(limited)) - before;
    expect(refused).toBeGreaterThanOrEqual(20);
    expect(refused).toBeLessThanOrEqual(26);
    // Another source meanwhile: answered as usual.
    const other = await sipp(`other-${method}`, method === 'OPTIONS' ? [optionsPing()] : [invite(), pause(500), bye(2)], '127.0.0.2');
    const result = await other.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('blocks a source that enters wrong PINs over several calls (here and on the gateway sharing its Redis); another source still gets in', async () => {
    const wrong = (attempt: number) => ['0', '0', '0', '#'].map((d, i) => infoDigit(d, 2 + attempt * 4 + i));
    // First call: three wrong PINs, goodbye (3 failures of the 4 that block).
    const first = await sipp('wrong-pins-1', [invite(), ...wrong(0), pause(500), ...wrong(1), pause(500), ...wrong(2), expectBye(20_000)], '127.0.0.2');
    expect((await first.done).code).toBe(0);
    // Second call: the fourth wrong PIN blocks the source and ends this call at once.
    const ended = waitFor('the second call', () => [...gw.gateway.calls][0], 10_000, 0).then((call) => new Promise((resolve) => call.once('ended', resolve)));
    const second = await sipp('wrong-pins-2', [invite(), ...wrong(0), expectBye(20_000)], '127.0.0.2');
    expect(await ended).toBe('source blocked after repeated failures');
    expect((await second.done).code).toBe(0);
    // Now refused before any call flow, here and at the peer gateway.
    for (const to of [gw, peer]) {
      const refused = await sipp('blocked', [invite(403)], '127.0.0.2', { to });
      const result = await refused.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
    }
    expect(await metric('gateway_sip_sources_blocked_total{failure="pin"}')).toBe(1);
    // A gateway started later loads the blocks in force from Redis.
    const latePort = await freePort();
    await withGateway(bridge, { REDIS_URL: redis.url, GATEWAY_METRICS_PORT: String(latePort) }, async (late) => {
      await waitFor('the block loaded from Redis', async () => (await metric('gateway_sip_blocked_sources', latePort)) === 1);
      const refused = await sipp('blocked-late', [invite(403)], '127.0.0.2', { to: late });
      const result = await refused.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
    });
    // Another source with the right PIN joins the room.
    const pin = bridge.registry.get('board')!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const good = await sipp('right-pin', [invite(), ...digits, playAudio, pause(3000), bye(20)], '127.0.0.4');
    await waitFor('the other caller in the room', () => bridge.registry.get('board')?.visiblePeers().some((p) => p.kind === 'phone'), 15_000);
    expect((await good.done).code).toBe(0);
  });

  it('closes a slowloris TCP connection (a request trickling in) after the idle timeout', async () => {
    const socket = net.connect({ host: '127.0.0.1', port: gw.sipPort, localAddress: '127.0.0.5' });
    await new Promise((resolve) => socket.once('connect', resolve));
    const opened = Date.now();
    const request = `OPTIONS sip:board@127.0.0.1:${gw.sipPort} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.5:5060;branch=z9hG4bK${randomUUID()}\r\n`;
    let sent = 0;
    // A byte every 200 ms: far more often than the timeout, never a whole message.
    const trickle = setInterval(() => sent < request.length && !socket.destroyed && socket.write(request[sent++]!), 200);
    try {
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
      const after = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(-1), (IDLE_SECONDS + 3) * 1000))]);
      expect(after, 'the connection was still open').toBeGreaterThan(0);
      expect(after).toBeGreaterThanOrEqual(IDLE_SECONDS * 1000 - 100);
      expect(sent).toBeGreaterThan(IDLE_SECONDS * 4);
      expect(await metric('gateway_sip_tcp_connections_closed_total{why="idle"}')).toBeGreaterThanOrEqual(1);
    } finally {
      clearInterval(trickle);
      socket.destroy();
    }
  });

  it('accepts at most SIP_TCP_CONNECTIONS_PER_SOURCE connections from one address', async () => {
    const connect = (localAddress: string) =>
      new Promise<net.Socket>((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port: gw.sipPort, localAddress }, () => resolve(socket));
      });
    const sockets = await Promise.all(['127.0.0.6', '127.0.0.6', '127.0.0.6', '127.0.0.6', '127.0.0.7'].map(connect));
    try {
      await waitFor('the fourth connection from one address closed', () => sockets[3]!.closed, 1000);
      expect(sockets.filter((s) => !s.closed)).toHaveLength(4);
      expect(await metric('gateway_sip_tcp_connections_closed_total{why="overLimit"}')).toBe(1);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });

  it('drops requests from scanner user agents unanswered', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.8', resolve));
    const answers: string[] = [];
    socket.on('message', (data) => answers.push(data.toString()));
    const options = (userAgent: string) => {
      const id = randomUUID();
      const text = [
        `OPTIONS sip:100@127.0.0.1:${gw.sipPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.8:${socket.address().port};branch=z9hG4bK${id};rport`,
        `From: <sip:100@127.0.0.8>;tag=${id.slice(0, 8)}`,
        `To: <sip:100@127.0.0.1>`,
        `Call-ID: ${id}`,
        'CSeq: 1 OPTIONS',
        'Max-Forwards: 70',
        `User-Agent: ${userAgent}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      socket.send(text, gw.sipPort, '127.0.0.1');
      return id;
    };
    try {
      const before = await metric('gateway_sip_scanner_requests_dropped_total');
      const scanner = options('friendly-scanner');
      const sipvicious = options('sipvicious');
      const phone = options('Linphone/5.2');
      // The gateway takes datagrams in order and answers an OPTIONS the same way for each: an answer
      // to the scanners would have come before the phone's.
      await waitFor('the phone answered', () => answers.some((a) => a.includes(phone)));
      expect(answers.filter((a) => a.includes(scanner) || a.includes(sipvicious))).toEqual([]);
      expect((await metric('gateway_sip_scanner_requests_dropped_total')) - before).toBe(2);
    } finally {
      socket.close();
    }
  });
});
