import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { joinRoom } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

describe('REST, health and metrics', () => {
  let bridge: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '2' });
  });
  afterAll(() => bridge?.stop());

  const api = (path: string, init?: RequestInit) => operatorFetch(`${bridge.url}${path}`, init);

  it('lists rooms with their participants, and 404s rooms that do not exist', async () => {
    const alice = await joinRoom(bridge.url, 'weekly', 'Alice', 'web');
    const bob = await joinRoom(bridge.url, 'weekly', 'Bob', 'web');
    const list = await (await api('/api/rooms')).json();
    expect(list.rooms).toHaveLength(1);
    expect(list.rooms[0].name).toBe('weekly');
    expect(list.rooms[0].participants.map((p: { displayName: string }) => p.displayName).sort()).toEqual(['Alice', 'Bob']);

    const one = await api('/api/rooms/weekly');
    expect(one.status).toBe(200);
    expect((await api('/api/rooms/monthly')).status).toBe(404);
    const invalid = await api('/api/rooms/not%20a%20room');
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain('room');
    alice.client.close();
    bob.client.close();
    await waitFor('the room to close', () => !bridge.registry.get('weekly'));
  });

  it('kicks a participant: they are told why and disconnected, the others see them leave', async () => {
    const alice = await joinRoom(bridge.url, 'kick', 'Alice', 'web');
    const mallory = await joinRoom(bridge.url, 'kick', 'Mallory', 'web');
    const closed = new Promise<number>((resolve) => mallory.client.onClose((code) => resolve(code)));

    const response = await api(`/api/rooms/kick/participants/${mallory.joined.peerId}`, { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(await closed).toBe(4001);
    expect(mallory.notificationsOf('disconnected')).toEqual([{ reason: 'kicked' }]);
    const left = await waitFor('Alice to see Mallory leave', () => alice.notificationsOf('peerLeft')[0]);
    expect(left.peerId).toBe(mallory.joined.peerId);
    expect((await api(`/api/rooms/kick/participants/${mallory.joined.peerId}`, { method: 'DELETE' })).status).toBe(404);
    alice.client.close();
  });

  it('closes a room for everyone', async () => {
    const peers = await Promise.all(['A', 'B'].map((n) => joinRoom(bridge.url, 'closing', n, 'web')));
    expect((await api('/api/rooms/closing', { method: 'DELETE' })).status).toBe(204);
    for (const p of peers) {
      await waitFor('the disconnect notice', () => p.notificationsOf('disconnected')[0]?.reason === 'roomClosed');
      await waitFor('the socket to close', () => !p.client.isOpen);
    }
    expect(bridge.registry.get('closing')).toBeUndefined();
    expect((await api('/api/rooms/closing', { method: 'DELETE' })).status).toBe(404);
  });

  it('reports readiness and per-worker load', async () => {
    const health = await api('/healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', mediaWorkers: { alive: 2, configured: 2 } });

    const peers = await Promise.all(['A', 'B', 'C'].map((n) => joinRoom(bridge.url, 'metered', n, 'web')));
    const worker = bridge.registry.get('metered')!.worker.index;
    const metrics = await (await api('/metrics')).text();
    expect(metrics).toContain(`bridge_rooms{worker="${worker}"} 1`);
    expect(metrics).toContain(`bridge_peers{worker="${worker}"} 3`);
    expect(metrics).toMatch(/bridge_worker_cpu_seconds\{worker="0"\} \d/);
    expect(metrics).toContain('bridge_consumers');
    for (const p of peers) p.client.close();
  });

  it('publishes OpenAPI docs for the REST API', async () => {
    const spec = await (await api('/docs/json')).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/rooms', '/api/rooms/{room}', '/api/rooms/{room}/participants/{peerId}', '/healthz']),
    );
    expect((await api('/docs')).status).toBeLessThan(400);
  });
});
