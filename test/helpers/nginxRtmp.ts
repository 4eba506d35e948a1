import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestHost } from './hosts.ts';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

/** The stream key the receiver refuses (as YouTube does a wrong key). */
export const REJECTED_KEY = 'wrong-key';

/**
 * A real RTMP receiver: Debian's nginx with libnginx-mod-rtmp on 127.0.0.1.
 * Application `live` accepts any stream key except REJECTED_KEY (checked by
 * nginx's own on_publish HTTP hook) and records every stream as FLV (a new
 * file per publish). Its control API can drop a publisher, as a service's
 * ingest does when it restarts.
 */
export class NginxRtmp {
  readonly rtmpPort: number;
  readonly httpPort: number;
  readonly recordDir: string;
  readonly #prefix: string;
  readonly #process: ChildProcess;

  readonly address: string;

  private constructor(address: string, rtmpPort: number, httpPort: number, prefix: string, child: ChildProcess) {
    this.address = address;
    this.rtmpPort = rtmpPort;
    this.httpPort = httpPort;
    this.#prefix = prefix;
    this.recordDir = path.join(prefix, 'record');
    this.#process = child;
  }

  /** On loopback, or on `host` at its address. */
  static async start(host?: TestHost): Promise<NginxRtmp> {
    const address = host?.address ?? '127.0.0.1';
    const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nginx-rtmp-'));
    const record = path.join(prefix, 'record');
    fs.mkdirSync(record);
    fs.chmodSync(prefix, 0o755);
    fs.chmodSync(record, 0o777); // nginx's workers run as nobody
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const conf = path.join(prefix, 'nginx.conf');
    fs.writeFileSync(
      conf,
      `load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  server {
    listen ${address}:${httpPort};
    location /publish { if ($arg_name = "${REJECTED_KEY}") { return 403; } return 204; }
    location /control { rtmp_control all; }
  }
}
rtmp {
  server {
    listen ${address}:${rtmpPort};
    application live {
      live on;
      notify_method get;
      on_publish http://${address}:${httpPort}/publish;
      record all;
      record_path ${record};
      record_unique on;
    }
  }
}
`,
    );
    const stdio: ['ignore', 'ignore', 'pipe'] = ['ignore', 'ignore', 'pipe'];
    const args = ['-p', prefix, '-c', conf];
    const child = host ? host.spawn('nginx', args, { stdio }) : spawn('nginx', args, { stdio });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const nginx = new NginxRtmp(address, rtmpPort, httpPort, prefix, child);
    await waitFor(`nginx-rtmp listening (${log})`, () => fs.existsSync(path.join(prefix, 'nginx.pid')) && child.exitCode === null, 10_000);
    return nginx;
  }

  url(key: string): string {
    return `rtmp://${this.address}:${this.rtmpPort}/live/${key}`;
  }

  /** Disconnects whoever publishes `key`; resolves to how many were dropped. */
  async dropPublisher(key: string): Promise<number> {
    const response = await fetch(`http://${this.address}:${this.httpPort}/control/drop/publisher?app=live&name=${encodeURIComponent(key)}`);
    return Number(await response.text());
  }

  /** The FLV files recorded for a stream key, and their sizes. */
  recordings(key: string): { file: string; bytes: number }[] {
    return fs
      .readdirSync(this.recordDir)
      .filter((name) => name.startsWith(`${key}-`) || name === `${key}.flv`)
      .map((name) => ({ file: path.join(this.recordDir, name), bytes: fs.statSync(path.join(this.recordDir, name)).size }));
  }

  /**
   * Stops the server gracefully (its recordings are closed and stay
   * readable). A graceful stop waits for publishers to leave: after
   * `graceMs` it stops at once.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#process.exitCode !== null || this.#process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#process.once('exit', resolve));
    this.#process.kill('SIGQUIT');
    const timer = setTimeout(() => this.#process.kill('SIGTERM'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server (at once) and deletes what it recorded. */
  async dispose(): Promise<void> {
    await this.stop(0);
    fs.rmSync(this.#prefix, { recursive: true, force: true });
  }
}
