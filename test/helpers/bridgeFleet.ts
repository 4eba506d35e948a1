// Several bridges sharing one room directory, as a deployment runs them:
// bridge/main.ts with compose's environment on test hosts of their own, and a
// real redis-server on another (REDIS_URL; each bridge's id named, the rest
// shipped defaults, plain HTTP as behind a TLS proxy).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { directoryKeys } from '../../bridge/directory/BridgeDirectory.ts';
import { TEST_API, TEST_SERVICE_SECRET } from './bridge.ts';
import { composeEnvironment } from './compose.ts';
import { TestNetwork, type TestHost } from './hosts.ts';
import { ServiceProcess } from './service.ts';
import { joinRoom, type Joined } from './signaling.ts';
import { waitFor } from './wait.ts';

export class BridgeFleet<Name extends string> {
  readonly names: readonly Name[];
  readonly network: TestNetwork;
  readonly hosts: Record<Name | 'redis', TestHost>;
  readonly bridges = {} as Record<Name, ServiceProcess>;
  /** A client of the directory's Redis, to look at what the bridges publish. */
  readonly redis: Redis;
  redisServer!: ServiceProcess;
  readonly #dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bridge-fleet-'));
  readonly #clients: Joined[] = [];

  private constructor(names: readonly Name[], network: TestNetwork, hosts: Record<Name | 'redis', TestHost>) {
    this.names = names;
    this.network = network;
    this.hosts = hosts;
    this.redis = new Redis(`redis://${hosts.redis.address}:6379`);
    this.redis.on('error', () => {}); // until redis-server is up: the waits retry
  }

  /**
   * A test network with a host per bridge and one for Redis (the last); Redis and every bridge started
   * and ready, each with `env(name)` added to its environment.
   */
  static async start<Name extends string>(options: { id: string; subnet: string; names: readonly Name[]; env?: (name: Name) => Record<string, string> }): Promise<BridgeFleet<Name>> {
    const network = await TestNetwork.create({ id: options.id, subnet: options.subnet });
    const hosts = {} as Record<Name | 'redis', TestHost>;
    for (const [index, name] of [...options.names, 'redis' as const].entries()) hosts[name] = await network.addHost(name, index + 1);
    const fleet = new BridgeFleet(options.names, network, hosts);
    await fleet.startRedis();
    for (const name of options.names) fleet.startBridge(name, options.env?.(name));
    await Promise.all(options.names.map((name) => fleet.bridges[name].waitForLog('bridge ready', 60_000)));
    await fleet.waitUntilListed(options.names);
    return fleet;
  }

  /**
   * Until each of `names` lists the others as live (at its first heartbeat after they were up): before
   * that, its pages' connect-src leaves them out and its joins name them as no fallback, so a page
   * loaded too early cannot rejoin through them.
   */
  async waitUntilListed(names: readonly Name[]): Promise<void> {
    for (const name of names) {
      const others = names.filter((other) => other !== name).map((other) => `ws://${new URL(this.httpUrl(other)).host}`);
      await waitFor(`${name} to list ${names.join(', ')} as live`, async () => {
        const csp = (await fetch(`${this.httpUrl(name)}/healthz`)).headers.get('content-security-policy') ?? '';
        return others.every((origin) => csp.includes(origin));
      }, 10_000, 100);
    }
  }

  httpUrl(name: Name): string {
    return `http://${this.hosts[name].address}:8080`;
  }

  /** Which bridge a URL (a bridge's public URL, or a signaling URL on it) belongs to. */
  bridgeAt(url: string): Name {
    return this.names.find((name) => new URL(url).hostname === this.hosts[name].address)!;
  }

  /** The room's home in the directory. */
  homeOf(room: string): Promise<Name | null> {
    return this.redis.get(directoryKeys.room(room)) as Promise<Name | null>;
  }

  /** A web participant joining through `through` (SignalingClient follows the directory's redirect); closed with the fleet. */
  async join(through: Name, room: string, name: string, kind: 'web' | 'recorder' = 'web', extra: Parameters<typeof joinRoom>[4] = {}) {
    const joined = await joinRoom(this.httpUrl(through), room, name, kind, extra);
    this.#clients.push(joined);
    return { ...joined, landedOn: this.bridgeAt(joined.client.url) };
  }

  /** A redis-server on its host, empty (nothing persisted). */
  async startRedis(): Promise<void> {
    const { address } = this.hosts.redis;
    this.redisServer = ServiceProcess.start(this.hosts.redis, 'redis', 'redis-server', [
      '--port', '6379', '--bind', address,
      // The test network is private: no password, so protected mode off (as split.test runs it).
      '--protected-mode', 'no', '--save', '', '--appendonly', 'no',
    ], {});
    await waitFor('redis-server up', () => this.redis.ping().then((pong) => pong === 'PONG', () => false), 10_000, 100);
  }

  /** bridge/main.ts on its host, as a deployment of several bridges sets it up (wait for 'bridge ready'). */
  startBridge(name: Name, env: Record<string, string> = {}): ServiceProcess {
    const dir = this.#dir;
    this.bridges[name] = ServiceProcess.start(this.hosts[name], `bridge-${name}`, process.execPath, ['bridge/main.ts'], {
      ...composeEnvironment('bridge', { SERVICE_SECRET: TEST_SERVICE_SECRET, API_KEY: TEST_API.key, API_SECRET: TEST_API.secret }),
      // What a deployment of several bridges sets: the shared Redis, each bridge's name. Plain HTTP (a TLS proxy would front it).
      REDIS_URL: `redis://${this.hosts.redis.address}:6379`,
      BRIDGE_ID: name,
      HTTP_ONLY: 'true',
      MEDIA_WORKERS: '1',
      TLS_DIR: path.join(dir, `${name}-tls`),
      API_KEYS_FILE: path.join(dir, `${name}-api-key.json`),
      RECORDINGS_DIR: path.join(dir, `${name}-recordings`),
      ...env,
    });
    return this.bridges[name];
  }

  /**
   * gateway/main.ts on a host of its own (address .`last`), as compose sets it up, its bridge
   * `bridge` (BRIDGE_URL), ready, with `env` on top. No drachtio-server can run here: without
   * DRACHTIO_HOST the gateway runs its embedded engine. The caller stops it.
   */
  async startGateway(bridge: Name, last: number, { name = 'gateway', env: extra = {} }: { name?: string; env?: Record<string, string> } = {}): Promise<{ gateway: ServiceProcess; host: TestHost }> {
    const host = await this.network.addHost(name, last);
    const env = composeEnvironment('gateway', {
      SERVICE_SECRET: TEST_SERVICE_SECRET,
      // The test network's addresses are not among the private ranges allowed by default.
      SIP_ALLOWED_SOURCES: '198.18.0.0/15',
    });
    for (const name of ['DRACHTIO_HOST', 'DRACHTIO_PORT', 'DRACHTIO_SECRET']) delete env[name];
    const gateway = ServiceProcess.start(host, name, process.execPath, ['gateway/main.ts'], { ...env, BRIDGE_URL: this.httpUrl(bridge), ...extra });
    await gateway.waitForLog('SIP gateway ready');
    return { gateway, host };
  }

  async stop(): Promise<void> {
    for (const { client } of this.#clients) client.close();
    await Promise.all(this.names.map((name) => this.bridges[name]?.stop()));
    this.redis.disconnect();
    await this.redisServer?.stop();
    await this.network.destroy();
    fs.rmSync(this.#dir, { recursive: true, force: true });
  }
}
