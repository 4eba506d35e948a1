import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { consumeToSocket, joinRoom, OPUS, PCMU, produceFromSocket } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

describe('plain RTP transports', () => {
  let bridge: Bridge;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '2' });
  });
  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await bridge?.stop();
  });

  it('carries RTP from a UDP socket through a producer to a second plain transport, payloads intact', async () => {
    const phone = await joinRoom(bridge.url, 'rtp', 'Opus phone');
    const g711Phone = await joinRoom(bridge.url, 'rtp', 'G.711 phone');
    const listener = await joinRoom(bridge.url, 'rtp', 'Listener');
    cleanups.push(() => phone.client.close(), () => g711Phone.client.close(), () => listener.client.close());

    const opus = await produceFromSocket(phone, OPUS, 1111);
    const pcmu = await produceFromSocket(g711Phone, PCMU, 2222);
    cleanups.push(() => opus.sender.close(), () => pcmu.sender.close());

    const opusOut = await consumeToSocket(listener, opus.producerId);
    const pcmuOut = await consumeToSocket(listener, pcmu.producerId);
    cleanups.push(() => opusOut.receiver.close(), () => pcmuOut.receiver.close());
    expect(opusOut.consumer.rtpParameters.codecs[0]!.mimeType).toBe('audio/opus');
    expect(pcmuOut.consumer.rtpParameters.codecs[0]!.mimeType).toBe('audio/PCMU');

    await waitFor('50 opus and 50 PCMU packets', () => opusOut.receiver.count >= 50 && pcmuOut.receiver.count >= 50);
    for (const { receiver, consumer } of [opusOut, pcmuOut]) {
      const packet = receiver.packets.at(-1)!;
      expect(packet.payloadType).toBe(consumer.rtpParameters.codecs[0]!.payloadType);
      expect(packet.ssrc).toBe(consumer.rtpParameters.encodings![0]!.ssrc);
      // The sender wrote its running index into each payload; the SFU must not alter it.
      expect(packet.payload.length).toBe(60);
      expect(packet.payload.readUInt32BE(0)).toBeGreaterThan(0);
      expect(packet.payload.subarray(4).every((b) => b === 0x55)).toBe(true);
    }

    // Paused producers stop reaching the consumer; resumed ones flow again.
    await phone.client.request('setProducerPaused', { producerId: opus.producerId, paused: true });
    const atPause = opusOut.receiver.count;
    await waitFor('the pause to settle', async () => {
      const before = opusOut.receiver.count;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return opusOut.receiver.count === before;
    });
    expect(opusOut.receiver.count - atPause).toBeLessThan(5);
    const paused = opusOut.receiver.count;
    await phone.client.request('setProducerPaused', { producerId: opus.producerId, paused: false });
    await waitFor('packets after resume', () => opusOut.receiver.count > paused + 20);

    // A closed consumer stops sending; its producer keeps flowing to others.
    await listener.client.request('closeConsumer', { consumerId: pcmuOut.consumer.id });
    const atClose = pcmuOut.receiver.count;
    await waitFor('opus still flowing', () => opusOut.receiver.count > paused + 60);
    expect(pcmuOut.receiver.count - atClose).toBeLessThan(3);
  });

  it('moves the room to a live worker when its worker dies, and media flows again after the clients rebuild', async () => {
    const phone = await joinRoom(bridge.url, 'crash', 'Phone');
    const listener = await joinRoom(bridge.url, 'crash', 'Listener');
    cleanups.push(() => phone.client.close(), () => listener.client.close());
    const first = await produceFromSocket(phone, OPUS, 3333);
    const firstOut = await consumeToSocket(listener, first.producerId);
    cleanups.push(() => first.sender.close(), () => firstOut.receiver.close());
    await waitFor('media before the crash', () => firstOut.receiver.count >= 20);

    const room = bridge.registry.get('crash')!;
    const deadPid = room.worker.pid;
    process.kill(deadPid, 'SIGKILL');

    const restart = await waitFor('mediaRestart at both clients', () =>
      phone.notificationsOf('mediaRestart')[0] && listener.notificationsOf('mediaRestart')[0],
    );
    expect(restart.routerRtpCapabilities.codecs?.length).toBeGreaterThan(0);
    expect(room.worker.pid).not.toBe(deadPid);
    expect(bridge.registry.get('crash')).toBe(room); // same room, peers kept
    expect(room.visiblePeers().map((p) => p.displayName).sort()).toEqual(['Listener', 'Phone']);
    await waitFor('the pool to replace the dead worker', () => bridge.pool.aliveCount === 2);

    first.sender.stop();
    const second = await produceFromSocket(phone, OPUS, 4444);
    const secondOut = await consumeToSocket(listener, second.producerId);
    cleanups.push(() => second.sender.close(), () => secondOut.receiver.close());
    await waitFor('media after the rebuild', () => secondOut.receiver.count >= 20);
  });
});
