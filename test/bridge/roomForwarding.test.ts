// REST about a room on another bridge is forwarded there (bridge/http/
// roomForwarding.ts), to that bridge only: a request line naming another host
// (absolute form, which Node and Fastify accept and route) or another route
// (dot segments) is refused, and the host it names is never contacted.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { TestRedis } from '../helpers/redis.ts';
import { operatorAuthorization, operatorFetch } from '../helpers/rest.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';

/** Sends one raw HTTP/1.1 request line as given, as the operator, and answers the status. */
function rawRequest(bridgeUrl: string, method: string, target: string): Promise<number> {
  const { hostname, port } = new URL(bridgeUrl);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () =>
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: ${operatorAuthorization().authorization}\r\nConnection: close\r\n\r\n`),
    );
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('end', () => resolve(Number(answer.match(/^HTTP\/1\.1 (\d{3})/)?.[1])));
    socket.on('error', reject);
  });
}

describe('REST forwarded to a room\'s bridge', () => {
  let redis: TestRedis;
  let home: Bridge;
  let other: Bridge;
  let peer: Joined;
  /** A host a forged request line names: it must never be asked anything. */
  let bystander: net.Server;
  let bystanderPort = 0;
  let bystanderContacted = 0;

  beforeAll(async () => {
    redis = await TestRedis.start();
    home = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, BRIDGE_ID: 'home' });
    other = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, BRIDGE_ID: 'other' });
    peer = await joinRoom(home.url, 'standup', 'Alice', 'web');
    bystander = net.createServer((socket) => {
      bystanderContacted++;
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    });
    await new Promise<void>((resolve) => bystander.listen(0, '127.0.0.1', resolve));
    bystanderPort = (bystander.address() as net.AddressInfo).port;
  });

  afterAll(async () => {
    peer?.client.close();
    bystander?.close();
    await other?.stop();
    await home?.stop();
    await redis?.stop();
  });

  it('acts on the room where it lives when asked on the other bridge', async () => {
    const answer = await operatorFetch(`${other.url}/api/rooms/standup`);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { participants: { displayName: string }[] }).participants.map((p) => p.displayName)).toEqual(['Alice']);
  });

  it('refuses a request line that names another host, and never contacts it', async () => {
    const status = await rawRequest(other.url, 'GET', `http://127.0.0.1:${bystanderPort}/api/rooms/standup`);
    expect(status).toBe(400);
    expect(bystanderContacted).toBe(0);
  });

  it('refuses dot segments, which would reach another route on the room\'s bridge', async () => {
    expect(await rawRequest(other.url, 'DELETE', '/api/rooms/standup/recordings/%2e%2e')).toBe(400);
    expect(home.registry.get('standup')?.visiblePeers().length).toBe(1);
  });
});
