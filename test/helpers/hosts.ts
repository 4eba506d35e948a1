// Test hosts on one machine: Linux network namespaces on a virtual switch,
// with addresses from 198.18.0.0/15 (RFC 2544, reserved for benchmarking).
// Needs root, as CI runs. Facts behind it: shared/notes/test-hosts.md.
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A machine of the test: its own network stack, one address on the switch. */
export class TestHost {
  readonly name: string;
  /** The namespace's name (`ip netns exec <netns> ...`). */
  readonly netns: string;
  readonly address: string;

  constructor(name: string, netns: string, address: string) {
    this.name = name;
    this.netns = netns;
    this.address = address;
  }

  /** Starts a process on this host (it has the namespace's network, and the machine's files). */
  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    // `ip netns exec` execs the command itself: the child's PID is the command's.
    return spawn('ip', ['netns', 'exec', this.netns, command, ...args], options);
  }

  /** Runs a command on this host to its end; rejects with its output if it fails. */
  async exec(command: string, args: string[]): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', this.netns, command, ...args]);
    return stdout;
  }

  /**
   * An executable that runs `command` on this host, for programs that take a
   * binary's path (puppeteer's executablePath). Arguments and file
   * descriptors pass through.
   */
  wrapper(command: string): string {
    const file = path.join(os.tmpdir(), `on-${this.netns}-${path.basename(command)}`);
    fs.writeFileSync(file, `#!/bin/sh\nexec ip netns exec ${this.netns} ${command} "$@"\n`, { mode: 0o755 });
    return file;
  }

  /** Drops every UDP packet this host sends (DNS aside), as a strict corporate firewall does. */
  async blockUdp(): Promise<void> {
    await this.exec('nft', ['add', 'table', 'inet', 'restrict']);
    await this.exec('nft', ['add chain inet restrict out { type filter hook output priority 0; policy accept; }']);
    await this.exec('nft', ['add rule inet restrict out udp dport != 53 drop']);
  }
}

export interface NetworkOptions {
  /** Short and unique among the test files (names of namespaces and links). */
  id: string;
  /** The switch's /24, e.g. 198.18.1 (hosts get .1 to .253, the test runner .254). */
  subnet: string;
}

/**
 * A switch with hosts on it, and the test runner (this process, in the
 * machine's own namespace) plugged in too, so it reaches every host at its
 * address. Namespaces are named `tb-<id>-<host>`; a run that crashed is
 * cleaned up by the next one with the same id.
 */
export class TestNetwork {
  readonly #id: string;
  readonly #subnet: string;
  readonly #namespaces: string[] = [];
  /** The test runner's address on the switch. */
  readonly runnerAddress: string;

  private constructor(options: NetworkOptions) {
    this.#id = options.id;
    this.#subnet = options.subnet;
    this.runnerAddress = `${options.subnet}.254`;
  }

  static async create(options: NetworkOptions): Promise<TestNetwork> {
    const network = new TestNetwork(options);
    await TestNetwork.#removeLeftovers(options.id);
    const sw = await network.#namespace('switch');
    await ip('-n', sw, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', sw, 'link', 'set', 'dev', 'br0', 'up');
    // The runner's end lives in the machine's namespace; it goes when the switch does.
    const runnerLink = `tb-${options.id}`;
    await ip('link', 'add', runnerLink, 'type', 'veth', 'peer', 'name', 'p-runner', 'netns', sw);
    await network.#plug('p-runner');
    await ip('addr', 'add', `${network.runnerAddress}/24`, 'dev', runnerLink);
    await ip('link', 'set', 'dev', runnerLink, 'up');
    return network;
  }

  /** A host on the switch at `<subnet>.<last>`. */
  async addHost(name: string, last: number): Promise<TestHost> {
    const netns = await this.#namespace(name);
    await ip('link', 'add', 'eth0', 'netns', netns, 'type', 'veth', 'peer', 'name', `p-${name}`, 'netns', this.#switch);
    await this.#plug(`p-${name}`);
    const address = `${this.#subnet}.${last}`;
    await ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'dev', 'eth0', 'up');
    return new TestHost(name, netns, address);
  }

  /**
   * A host behind a NAT: a router on the switch at `<subnet>.<routerLast>`
   * masquerades everything from a private link (`privateSubnet`.1 is the
   * router, .2 the host). Hosts on the switch only ever see the router's
   * address, with ports the NAT chose.
   */
  async addHostBehindNat(name: string, routerLast: number, privateSubnet: string): Promise<{ host: TestHost; router: TestHost }> {
    const router = await this.addHost(`${name}-nat`, routerLast);
    const netns = await this.#namespace(name);
    await ip('link', 'add', 'eth0', 'netns', netns, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', router.netns);
    await ip('-n', router.netns, 'addr', 'add', `${privateSubnet}.1/24`, 'dev', 'eth1');
    await ip('-n', router.netns, 'link', 'set', 'dev', 'eth1', 'up');
    await ip('-n', netns, 'addr', 'add', `${privateSubnet}.2/24`, 'dev', 'eth0');
    await ip('-n', netns, 'link', 'set', 'dev', 'eth0', 'up');
    await ip('-n', netns, 'route', 'add', 'default', 'via', `${privateSubnet}.1`);
    await router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    await router.exec('nft', ['add', 'table', 'ip', 'nat']);
    await router.exec('nft', ['add chain ip nat post { type nat hook postrouting priority 100; }']);
    await router.exec('nft', ['add rule ip nat post oifname eth0 counter masquerade']);
    // The test runner reaches the host through the router, to drive it (not NATed: the runner opens those connections).
    await ip('route', 'add', `${privateSubnet}.0/24`, 'via', router.address, 'dev', `tb-${this.#id}`);
    return { host: new TestHost(name, netns, `${privateSubnet}.2`), router };
  }

  /** How many flows a NAT router made by addHostBehindNat has translated so far. */
  static async natTranslations(router: TestHost): Promise<number> {
    const chain = await router.exec('nft', ['list', 'chain', 'ip', 'nat', 'post']);
    return Number(/counter packets (\d+)/.exec(chain)?.[1] ?? 0);
  }

  /** Removes every namespace this network made (and with them their links). */
  async destroy(): Promise<void> {
    for (const netns of this.#namespaces.reverse()) await ip('netns', 'del', netns).catch(() => {});
    this.#namespaces.length = 0;
  }

  get #switch(): string {
    return `tb-${this.#id}-switch`;
  }

  async #namespace(name: string): Promise<string> {
    const netns = `tb-${this.#id}-${name}`;
    await ip('netns', 'add', netns);
    this.#namespaces.push(netns);
    await ip('-n', netns, 'link', 'set', 'dev', 'lo', 'up');
    return netns;
  }

  async #plug(port: string): Promise<void> {
    await ip('-n', this.#switch, 'link', 'set', 'dev', port, 'master', 'br0');
    await ip('-n', this.#switch, 'link', 'set', 'dev', port, 'up');
  }

  static async #removeLeftovers(id: string): Promise<void> {
    const { stdout } = await run('ip', ['netns', 'list']);
    const ours = stdout
      .split('\n')
      .map((line) => line.split(' ')[0]!)
      .filter((name) => name.startsWith(`tb-${id}-`));
    for (const netns of ours) await ip('netns', 'del', netns).catch(() => {});
  }
}
