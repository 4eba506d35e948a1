// TURN credentials in the join response of a real bridge: each admitted join
// gets its own, made by coturn's REST scheme from TURN_SECRET; a rejoin gets
// fresh ones; a refused join gets nothing; a bridge without TURN gives none.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinRoom } from '../helpers/signaling.ts';

const TURN_URLS = ['turn:198.18.9.2:443?transport=tcp', 'turns:198.18.9.2:443?transport=tcp'];
const TURN_SECRET = 'bridge-test-turn-secret-0123';

describe('TURN credentials in the join response', () => {
  let bridge: Bridge;
  let plain: Bridge;

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1', TURN_URLS: TURN_URLS.join(','), TURN_SECRET, TURN_CREDENTIAL_TTL_SECONDS: '600' });
    plain = await startBridge({ MEDIA_WORKERS: '1' });
  });
  afterAll(async () => {
    await bridge?.stop();
    await plain?.stop();
  });

  it('are the joined peer\'s own, valid for the TTL, and coturn\'s HMAC of the username', async () => {
    const before = Math.floor(Date.now() / 1000);
    const alice = await joinRoom(bridge.url, 'relay', 'Alice', 'web');
    const [server, ...more] = alice.joined.iceServers ?? [];
    expect(more).toEqual([]);
    expect(server!.urls).toEqual(TURN_URLS);
    const [expiry, peerId] = server!.username.split(':');
    expect(peerId).toBe(alice.joined.peerId);
    expect(Number(expiry)).toBeGreaterThanOrEqual(before + 600);
    expect(Number(expiry)).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    expect(server!.credential).toBe(createHmac('sha1', TURN_SECRET).update(server!.username).digest('base64'));
    alice.client.close();
  });

  it('are fresh on a rejoin, and not given to a join that is refused', async () => {
    const host = await joinRoom(bridge.url, 'relay-again', 'Host', 'web');
    const first = await joinRoom(bridge.url, 'relay-again', 'Bob', 'web');
    first.client.close();
    const again = await joinRoom(bridge.url, 'relay-again', 'Bob', 'web');
    expect(again.joined.peerId).not.toBe(first.joined.peerId);
    expect(again.joined.iceServers![0]!.username).not.toBe(first.joined.iceServers![0]!.username);
    expect(again.joined.iceServers![0]!.credential).not.toBe(first.joined.iceServers![0]!.credential);
    again.client.close();
    // Locked: a wrong password is refused with an error, which carries nothing of the room (nor a way through TURN).
    await host.client.request('setRoomPassword', { password: '4321' });
    const refused = await joinRoom(bridge.url, 'relay-again', 'Mallory', 'web', { password: '0000' }).then(
      () => 'joined',
      (error: Error) => error.message,
    );
    expect(refused).not.toBe('joined');
    host.client.close();
  });

  it('are not given by a bridge without TURN_URLS', async () => {
    const carol = await joinRoom(plain.url, 'direct', 'Carol', 'web');
    expect(carol.joined).not.toHaveProperty('iceServers');
    carol.client.close();
  });
});
