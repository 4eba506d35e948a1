import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, freePortRange } from './ports.ts';
import { waitFor } from './wait.ts';

/** Longer than the second linphonec sleeps after each key. */
const KEY_INTERVAL_MS = 1500;

export type LinphoneCodec = 'opus' | 'PCMU' | 'PCMA' | 'G722';

/** Every audio codec linphone 5.1 knows, as its config lists them: all but the chosen one are disabled. */
const CODECS: { mime: string; rate: number; channels: number }[] = [
  { mime: 'opus', rate: 48000, channels: 2 },
  { mime: 'speex', rate: 16000, channels: 1 },
  { mime: 'speex', rate: 8000, channels: 1 },
  { mime: 'speex', rate: 32000, channels: 1 },
  { mime: 'PCMU', rate: 8000, channels: 1 },
  { mime: 'PCMA', rate: 8000, channels: 1 },
  { mime: 'GSM', rate: 8000, channels: 1 },
  { mime: 'G722', rate: 8000, channels: 1 },
  { mime: 'G729', rate: 8000, channels: 1 },
  { mime: 'L16', rate: 44100, channels: 2 },
  { mime: 'L16', rate: 44100, channels: 1 },
];

/**
 * A real softphone (Debian's linphone-cli 5.1, `linphonec`), on loopback,
 * driven through its command line on stdin. In file mode (`soundcard use
 * files`) it sends a WAV as its microphone (`play`) and records what it
 * receives (`record`). DTMF goes as RFC 4733 events or as SIP INFO, as chosen.
 */
export class Linphone {
  readonly dir: string;
  readonly #process: ChildProcess;
  readonly #recording: string;
  #output = '';

  private constructor(dir: string, child: ChildProcess) {
    this.dir = dir;
    this.#process = child;
    this.#recording = path.join(dir, 'received.wav');
    const collect = (chunk: Buffer) => (this.#output += chunk.toString());
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
  }

  /** `microphone`: a mono WAV, longer than the call. */
  static async start(opts: { microphone: string; codec: LinphoneCodec; dtmf: 'rfc4733' | 'info' }): Promise<Linphone> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linphone-'));
    const [sipPort, rtpPort] = [await freePort(), await freePortRange(2)];
    const codecs = CODECS.flatMap((c, i) => [
      `[audio_codec_${i}]`,
      `mime=${c.mime}`,
      `rate=${c.rate}`,
      `channels=${c.channels}`,
      `enabled=${c.mime === opts.codec ? 1 : 0}`,
    ]);
    fs.writeFileSync(
      path.join(dir, 'linphonerc'),
      [
        '[sip]',
        // Without this linphonec waits for a network-up notice that never comes and listens nowhere.
        'auto_net_state_mon=0',
        'use_ipv6=0',
        'bind_address=127.0.0.1',
        'contact=sip:caller@127.0.0.1',
        `use_info=${opts.dtmf === 'info' ? 1 : 0}`,
        `use_rfc2833=${opts.dtmf === 'rfc4733' ? 1 : 0}`,
        '[rtp]',
        `audio_rtp_port=${rtpPort}`,
        '[video]',
        'capture=0',
        'display=0',
        ...codecs,
        '',
      ].join('\n'),
    );
    // HOME: linphonec keeps its history, database and ZRTP cache there.
    const child = spawn('linphonec', ['-c', path.join(dir, 'linphonerc')], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir },
    });
    const phone = new Linphone(dir, child);
    // The SIP port from the config is not listened on before this command (linphone 5.1).
    phone.#command(`ports sip ${sipPort}`);
    phone.#command('soundcard use files');
    phone.#command(`play ${opts.microphone}`);
    phone.#command(`record ${phone.#recording}`);
    await phone.#waitForOutput(`Setting sip port to ${sipPort}`);
    return phone;
  }

  /** Calls `uri` (one call per Linphone): whether it was answered, or refused with an error. */
  async dial(uri: string): Promise<'connected' | 'error'> {
    this.#command(`call ${uri}`);
    return waitFor(`linphonec to connect or fail (output: ${this.#output.slice(-1500)})`, () =>
      this.#output.includes(' connected.') ? 'connected' : this.#output.includes(' error.') ? 'error' : null,
    15_000);
  }

  /**
   * Types keys during the call; linphonec sends a line of DTMF characters as
   * DTMF. After each key it sleeps a second without reading SIP, and while
   * lines wait on stdin it keeps taking them, so the 200 of a key's INFO is
   * read, and the next INFO sent, only once stdin is empty: keys go one
   * every 1.5 s, as a person would type them.
   */
  async sendDigits(digits: string): Promise<void> {
    for (const digit of digits) {
      this.#command(digit);
      await new Promise((resolve) => setTimeout(resolve, KEY_INTERVAL_MS)); // pacing between key presses, not a check
    }
  }

  async hangup(): Promise<void> {
    this.#command('terminate');
    await this.waitForEnd();
  }

  /** Waits for the call to end (either side hung up). */
  waitForEnd(timeoutMs = 15_000): Promise<unknown> {
    return this.#waitForOutput(' ended', timeoutMs);
  }

  /** What the phone received (complete once the call ended). */
  receivedWav(): string {
    if (!fs.existsSync(this.#recording)) throw new Error(`linphone recorded nothing (output: ${this.#output.slice(-2000)})`);
    return this.#recording;
  }

  /** What linphonec printed, for assertions and failure messages. */
  get output(): string {
    return this.#output;
  }

  async stop(): Promise<void> {
    if (this.#process.exitCode === null) {
      const exited = new Promise((resolve) => this.#process.once('exit', resolve));
      this.#command('quit');
      const killer = setTimeout(() => this.#process.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  #command(line: string): void {
    this.#process.stdin!.write(`${line}\n`);
  }

  #waitForOutput(text: string, timeoutMs = 15_000): Promise<unknown> {
    return waitFor(`linphonec to print "${text}" (output: ${this.#output.slice(-1500)})`, () => this.#output.includes(text), timeoutMs);
  }
}
