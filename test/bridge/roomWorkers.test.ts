import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { Room } from '../../bridge/rooms/Room.ts';
import { startBridge } from '../helpers/bridge.ts';
import { consumeToSocket, joinRoom, OPUS, produceFromSocket, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const SPREAD_AT = 20;
const RECEIVERS = 60;

type Receiver = Joined & Awaited<ReturnType<typeof consumeToSocket>>;

/** The media worker a receiver's plain transport is on, as the bridge placed it. */
function workerOf(room: Room, receiver: Receiver): number {
  const transport = room.getPeer(receiver.joined.peerId)!.transport(receiver.transportId);
  return room.routers.routerOf(transport).mediaWorker.index;
}

/** The index the sender wrote into each payload, as each receiver got them. */
const indices = (receiver: Receiver) => receiver.receiver.packets.map((p) => p.payload.readUInt32BE(0));

async function silent(receivers: readonly Receiver[]): Promise<boolean> {
  const before = receivers.map((r) => r.receiver.count);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return receivers.every((r, i) => r.receiver.count === before[i]);
}

describe('a room over two media workers', () => {
  let bridge: Bridge;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '2', MEDIA_WORKER_SPREAD_CONSUMERS: String(SPREAD_AT) });
  });
  afterAll(async () => {
    for (const cleanup of cleanups) cleanup();
    await bridge?.stop();
  });

  let room: Room;
  let sender: Joined;
  const receivers: Receiver[] = [];

  it(`spreads ${RECEIVERS} plain-RTP receivers of one sender over both workers, losing nothing; pause, resume and close reach both`, async () => {
    sender = await joinRoom(bridge.url, 'big', 'Sender');
    cleanups.push(() => sender.client.close());
    const sent = await produceFromSocket(sender, OPUS, 5555);
    cleanups.push(() => sent.sender.close());
    for (let i = 0; i < RECEIVERS; i++) {
      const peer = await joinRoom(bridge.url, 'big', `Receiver ${i}`);
      const receiver = { ...peer, ...(await consumeToSocket(peer, sent.producerId)) };
      cleanups.push(() => receiver.client.close(), () => receiver.receiver.close());
      receivers.push(receiver);
    }

    room = bridge.registry.get('big')!;
    const perWorker = new Map<number, number>();
    for (const r of receivers) perWorker.set(workerOf(room, r), (perWorker.get(workerOf(room, r)) ?? 0) + 1);
    expect([...perWorker.keys()].sort()).toEqual([0, 1]);
    // Once both carry SPREAD_AT, the lighter takes each next one: they end level.
    for (const count of perWorker.values()) expect(count).toBeGreaterThanOrEqual(SPREAD_AT);
    expect(room.routers.all.map((r) => r.consumers).reduce((a, b) => a + b)).toBe(RECEIVERS);
    expect(new Set(room.routers.all.map((r) => r.mediaWorker.index)).size).toBe(2);

    // Every receiver gets every packet from its first on: the indices run without a gap or a repeat.
    await waitFor('100 packets at every receiver', () => receivers.every((r) => r.receiver.count >= 100), 15_000);
    await sender.client.request('setProducerPaused', { producerId: sent.producerId, paused: true });
    const atPause = receivers.map((r) => r.receiver.count);
    await waitFor('the pause to reach every receiver', () => silent(receivers));
    for (const [i, r] of receivers.entries()) {
      expect(r.receiver.count - atPause[i]!).toBeLessThan(5);
      const got = indices(r);
      expect(got.length).toBeGreaterThanOrEqual(100);
      expect(got).toEqual(Array.from({ length: got.length }, (_, k) => got[0]! + k));
    }

    const paused = receivers.map((r) => r.receiver.count);
    await sender.client.request('setProducerPaused', { producerId: sent.producerId, paused: false });
    await waitFor('packets after resume at every receiver', () => receivers.every((r, i) => r.receiver.count > paused[i]! + 20));

    await sender.client.request('closeProducer', { producerId: sent.producerId });
    await waitFor('consumerClosed at every receiver', () =>
      receivers.every((r) => r.notificationsOf('consumerClosed').some((c) => c.consumerId === r.consumer.id)),
    );
    expect(room.routers.all.map((r) => r.consumers)).toEqual([0, 0]);
  });

  it('restarts the room’s media when the worker of a spread router dies, and media flows again', async () => {
    const spread = room.routers.all.find((r) => !r.homeOf)!;
    const deadPid = spread.mediaWorker.pid;
    process.kill(deadPid, 'SIGKILL');

    await waitFor('mediaRestart at every peer', () =>
      [sender, ...receivers].every((p) => p.notificationsOf('mediaRestart').length > 0),
    );
    expect(bridge.registry.get('big')).toBe(room);
    expect(room.visiblePeers()).toHaveLength(RECEIVERS + 1);
    await waitFor('the pool to replace the dead worker', () => bridge.pool.aliveCount === 2);
    expect(room.routers.all.every((r) => r.mediaWorker.pid !== deadPid)).toBe(true);

    const again = await produceFromSocket(sender, OPUS, 6666);
    cleanups.push(() => again.sender.close());
    const [first, second] = receivers;
    const out = await Promise.all([first!, second!].map((r) => consumeToSocket(r, again.producerId)));
    cleanups.push(...out.map((o) => () => o.receiver.close()));
    await waitFor('media after the rebuild', () => out.every((o) => o.receiver.count >= 20));
  });
});
