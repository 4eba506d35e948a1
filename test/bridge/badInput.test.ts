import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { RtpReceiver, RtpSender } from '../helpers/rtp.ts';
import { joinRoom, signalingUrl } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

/** Messages no client should send: broken, huge, unknown, out of order, or with bad media parameters. */
function badMessages(count: number): (string | Buffer)[] {
  const shapes: ((i: number) => string | Buffer)[] = [
    () => '{"id": 1, "method": ',
    () => 'null',
    () => '[]',
    (i) => JSON.stringify({ id: i, method: 'produce', data: { transportId: 'x', kind: 'audio', source: 'mic', rtpParameters: { codecs: [] } } }),
    (i) => JSON.stringify({ id: i, method: 'no-such-method' }),
    (i) => JSON.stringify({ id: i, method: 'join', data: { room: '../../etc', displayName: '' } }),
    (i) => JSON.stringify({ id: i, method: 'chat', data: { text: 'x'.repeat(70_000) } }),
    (i) => JSON.stringify({ id: -i - 1, method: 'leave' }),
    (i) => JSON.stringify({ id: i, method: 'closeProducer', data: { producerId: 'ghost' } }),
    (i) => JSON.stringify({ id: i, method: 'consume', data: { transportId: 1, producerId: {}, rtpCapabilities: 'all' } }),
    (i) => JSON.stringify({ id: i, method: 'connectWebRtcTransport', data: { transportId: 'x', dtlsParameters: { fingerprints: [] } } }),
    () => Buffer.from([0xff, 0x00, 0x13, 0x37]),
    (i) => JSON.stringify({ id: i, method: 'join', data: { room: 'r', displayName: 'n', kind: 'superuser' } }),
  ];
  return Array.from({ length: count }, (_, i) => shapes[i % shapes.length]!(i));
}

describe('bad input', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    // A budget the flood fits in: this is about what each bad message gets; limits.test.ts is about the budget.
    bridge = await startBridge({ MEDIA_WORKERS: '1', SIGNALING_MESSAGES_PER_SECOND: '10000', SIGNALING_MESSAGE_BURST: '10000' });
  });
  afterAll(() => bridge?.stop());

  it('answers a flood of malformed, oversized and out-of-sequence messages while other media keeps flowing', async () => {
    // A real media path between two other peers in the room under attack.
    const speaker = await joinRoom(bridge.url, 'target', 'Speaker');
    const listener = await joinRoom(bridge.url, 'target', 'Listener');
    const inbound = await speaker.client.request('createPlainTransport', { comedia: true });
    const sender = new RtpSender();
    await sender.bind();
    sender.start({ ip: inbound.ip, port: inbound.port }, { payloadType: 100, ssrc: 7777 });
    const { producerId } = await speaker.client.request('produce', {
      transportId: inbound.id,
      kind: 'audio',
      source: 'mic',
      rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: 7777 }] },
    });
    const receiver = new RtpReceiver();
    const port = await receiver.bind();
    const outbound = await listener.client.request('createPlainTransport', { comedia: false });
    await listener.client.request('connectPlainTransport', { transportId: outbound.id, ip: '127.0.0.1', port });
    await listener.client.request('consume', { transportId: outbound.id, producerId, rtpCapabilities: listener.joined.routerRtpCapabilities });
    await waitFor('media before the flood', () => receiver.count >= 20);

    // The attacker: one socket, first unjoined, then joined to the same room.
    const ws = new WebSocket(signalingUrl(bridge.url));
    const replies: { ok: boolean; error?: { code: string } }[] = [];
    ws.on('message', (raw) => replies.push(JSON.parse(String(raw))));
    await new Promise((resolve) => ws.once('open', resolve));
    const flood = badMessages(3000);
    for (const message of flood) ws.send(message);
    ws.send(JSON.stringify({ id: 999_999, method: 'join', data: { room: 'target', displayName: 'Attacker' } }));
    const joined = flood.length + 1;
    for (const message of flood) ws.send(message);
    const beforeFlood = receiver.count;
    await waitFor('a reply to every message', () => replies.filter((r) => 'ok' in r).length >= joined + flood.length, 30_000);

    const answers = replies.filter((r) => 'ok' in r);
    const failures = answers.filter((r) => !r.ok);
    expect(answers.filter((r) => r.ok)).toHaveLength(1); // only the real join
    expect(failures).toHaveLength(2 * flood.length);
    expect(new Set(failures.map((f) => f.error!.code))).toEqual(
      new Set(['malformed', 'invalidData', 'unknownMethod', 'tooLarge', 'notJoined', 'notFound']),
    );

    // Media between the others never stopped, and the bridge is healthy.
    await waitFor('media during and after the flood', () => receiver.count >= beforeFlood + 50);
    const sequences = receiver.packets.map((p) => p.sequence);
    const lost = sequences.at(-1)! - sequences[0]! + 1 - sequences.length;
    expect(lost).toBeLessThanOrEqual(2);
    expect((await fetch(`${bridge.url}/healthz`)).status).toBe(200);
    expect(bridge.registry.get('target')!.visiblePeers().map((p) => p.displayName).sort()).toEqual(['Attacker', 'Listener', 'Speaker']);

    // A message over the transport limit closes only the attacker's socket.
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send('x'.repeat(2 << 20));
    expect(await closed).toBe(1009);
    await waitFor('the attacker to be gone', () => bridge.registry.get('target')!.visiblePeers().length === 2);
    const afterClose = receiver.count;
    await waitFor('media still flowing', () => receiver.count >= afterClose + 25);

    sender.close();
    receiver.close();
    speaker.client.close();
    listener.client.close();
  });
});
