import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestHost } from './hosts.ts';
import { freePort, freePortRange } from './ports.ts';
import { waitFor } from './wait.ts';

interface BaresipEvent {
  type: string;
  param?: string;
}

/**
 * A real softphone (Debian's baresip 1.0), on loopback or on a test host: it sends a WAV file as
 * its microphone, records what it receives (sndfile), and is driven over
 * ctrl_tcp (netstring JSON commands and events).
 */
export class Baresip {
  readonly dir: string;
  /** UDP and TCP; TLS listens on the next port. */
  readonly sipPort: number;
  readonly events: BaresipEvent[] = [];
  readonly #process: ChildProcess;
  readonly #control: net.Socket;
  #buffer = '';
  #output = '';

  private constructor(dir: string, sipPort: number, child: ChildProcess, control: net.Socket) {
    this.dir = dir;
    this.sipPort = sipPort;
    this.#process = child;
    this.#control = control;
    const keep = (chunk: Buffer) => (this.#output = (this.#output + chunk.toString()).slice(-3000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    control.setEncoding('utf8');
    control.on('data', (chunk: string) => this.#onData(chunk));
  }

  /**
   * `microphone`: an 8 kHz mono WAV, longer than the call (baresip hangs up at its end).
   * `secure`: SIP over TLS trusting `ca` (and, to be called over TLS, presenting `certificate`,
   * a PEM with its key), and SRTP required (SDES, RTP/SAVP). `autoAnswer`: takes calls at once.
   */
  static async start(opts: {
    microphone: string;
    codecs?: string;
    host?: TestHost;
    secure?: { ca: string; certificate?: string };
    autoAnswer?: boolean;
    /** The account's user: what a call to this phone must name (default `caller`). */
    user?: string;
  }): Promise<Baresip> {
    const address = opts.host?.address ?? '127.0.0.1';
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baresip-'));
    // TLS takes the port after sip_listen's: both must be free.
    const [sipPort, controlPort, rtpBase] = [await freePortRange(2), await freePort(), await freePortRange(20)];
    fs.mkdirSync(path.join(dir, 'dump'));
    fs.writeFileSync(
      path.join(dir, 'config'),
      [
        `sip_listen ${address}:${sipPort}`,
        `net_interface ${address}`,
        `audio_source aufile,${opts.microphone}`,
        'audio_player aufile,/dev/null',
        'audio_alert aufile,/dev/null',
        `rtp_ports ${rtpBase}-${rtpBase + 19}`,
        `ctrl_tcp_listen ${address}:${controlPort}`,
        `snd_path ${path.join(dir, 'dump')}`,
        'module_path /usr/lib/baresip/modules',
        // srtp before account: an account naming a media encryption not loaded yet silently goes without.
        ...['g711', 'aufile', 'sndfile', 'uuid', ...(opts.secure ? ['srtp'] : []), 'account', 'menu', 'ctrl_tcp'].map((m) => `module ${m}.so`),
        ...(opts.secure ? [`sip_cafile ${opts.secure.ca}`, ...(opts.secure.certificate ? [`sip_certificate ${opts.secure.certificate}`] : [])] : []),
        '',
      ].join('\n'),
    );
    const params = [
      'regint=0',
      `audio_codecs=${opts.codecs ?? 'PCMU,PCMA'}`,
      ...(opts.secure ? ['mediaenc=srtp-mand'] : []),
      ...(opts.autoAnswer ? ['answermode=auto'] : []),
    ];
    fs.writeFileSync(path.join(dir, 'accounts'), `<sip:${opts.user ?? 'caller'}@${address}${opts.secure ? ';transport=tls' : ''}>;${params.join(';')}\n`);
    const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
    const child = opts.host ? opts.host.spawn('baresip', ['-f', dir], { stdio }) : spawn('baresip', ['-f', dir], { stdio });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    const control = await waitFor(
      `baresip control port (output: ${output})`,
      () =>
        new Promise<net.Socket | null>((resolve) => {
          const socket = net.connect(controlPort, address);
          socket.once('connect', () => resolve(socket));
          socket.once('error', () => resolve(null));
        }),
      10_000,
      100,
    );
    return new Baresip(dir, sipPort, child, control);
  }

  dial(uri: string): void {
    this.#command('dial', uri);
  }

  /** Sends DTMF as RFC 4733 telephone-events, one key at a time. */
  async sendDigits(digits: string): Promise<void> {
    for (const digit of digits) {
      this.#command('sndcode', digit);
      await new Promise((resolve) => setTimeout(resolve, 250)); // pacing between key presses, not a check
    }
  }

  hangup(): void {
    this.#command('hangup');
  }

  /** The end of baresip's console output (shown when an awaited event does not come). */
  get output(): string {
    return this.#output;
  }

  async waitForEvent(type: string, timeoutMs = 15_000): Promise<BaresipEvent> {
    try {
      return await waitFor(`baresip event ${type}`, () => this.events.find((e) => e.type === type), timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message} (seen: ${this.events.map((e) => e.type).join(', ')}; output: ${this.#output})`);
    }
  }

  /** What the phone received, as recorded by sndfile (complete once the call ended). */
  receivedWav(): string {
    const file = fs.readdirSync(path.join(this.dir, 'dump')).find((f) => f.endsWith('-dec.wav'));
    if (!file) throw new Error('baresip recorded nothing');
    return path.join(this.dir, 'dump', file);
  }

  /**
   * The last `seconds` of what the phone receives, while the call goes on
   * (16-bit PCM as sndfile writes it; the header's sizes are only final at the end).
   */
  recentAudio(seconds: number): { samples: Int16Array; sampleRate: number } {
    const file = this.receivedWav();
    const bytes = fs.readFileSync(file);
    const sampleRate = bytes.readUInt32LE(24);
    const dataStart = 44;
    const wanted = Math.min(Math.floor((bytes.length - dataStart) / 2), Math.round(seconds * sampleRate));
    const from = bytes.length - wanted * 2;
    const samples = new Int16Array(wanted);
    for (let i = 0; i < wanted; i++) samples[i] = bytes.readInt16LE(from + i * 2);
    return { samples, sampleRate };
  }

  async stop(): Promise<void> {
    this.#control.destroy();
    if (this.#process.exitCode === null) {
      const exited = new Promise((resolve) => this.#process.once('exit', resolve));
      this.#process.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  #command(command: string, params?: string): void {
    const json = JSON.stringify({ command, params, token: command });
    this.#control.write(`${Buffer.byteLength(json)}:${json},`);
  }

  /** Netstrings: <length>:<json>, */
  #onData(chunk: string): void {
    this.#buffer += chunk;
    for (;;) {
      const colon = this.#buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(this.#buffer.slice(0, colon));
      if (this.#buffer.length < colon + 1 + length + 1) return;
      const body = this.#buffer.slice(colon + 1, colon + 1 + length);
      this.#buffer = this.#buffer.slice(colon + 2 + length);
      try {
        const message = JSON.parse(body) as { event?: boolean; type?: string; param?: string };
        if (message.event && message.type) this.events.push({ type: message.type, param: message.param });
      } catch {
        // not JSON: ignore
      }
    }
  }
}
