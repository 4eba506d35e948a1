// RTP packets that carry their own index in the first 4 bytes of the
// payload, so one packet can be followed over several paths: an SFU rewrites
// SSRCs, sequence numbers and header extensions per consumer (and again per
// pipe), never an audio payload. The sender keeps each packet's send time,
// and an ArrivalLog each packet's arrival, both on the machine's wall clock
// (wallClockMs: comparable across threads).
import dgram from 'node:dgram';
import { Worker } from 'node:worker_threads';
import { audioLevelExtension, rtpPacket } from '../../media/rtp.ts';
import { wallClockMs } from './stats.ts';
import { AUDIO_PT } from './syntheticMedia.ts';

const PAYLOAD_BYTES = 100; // Opus-sized, as syntheticMedia's audio
const TICK_MS = 5;

/** Opus-sized audio packets, one every `intervalMs`, each numbered in its payload; paced from a clock, not by a drifting timer. */
export class IndexedRtpSender {
  readonly socket = dgram.createSocket('udp4');
  /** Send time (wallClockMs) of each packet, by index. */
  readonly sentAt: number[] = [];
  #timer: NodeJS.Timeout | undefined;

  async bind(address: string): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, address, resolve));
  }

  get sent(): number {
    return this.sentAt.length;
  }

  start(target: { ip: string; port: number }, ssrc: number, intervalMs: number): void {
    const startedAt = performance.now();
    // A speaking participant's level: the room's speaker detection has its usual work.
    const extension = audioLevelExtension(30);
    this.#timer = setInterval(() => {
      const due = Math.floor((performance.now() - startedAt) / intervalMs);
      while (this.sent < due) {
        const index = this.sent;
        const payload = Buffer.alloc(PAYLOAD_BYTES, 0x42);
        payload.writeUInt32BE(index, 0);
        const packet = rtpPacket({ payloadType: AUDIO_PT, sequence: index & 0xffff, timestamp: index * 48 * intervalMs, ssrc, payload, extension });
        this.sentAt.push(wallClockMs());
        this.socket.send(packet, target.port, target.ip);
      }
    }, TICK_MS);
  }

  close(): void {
    clearInterval(this.#timer);
    this.socket.close();
  }
}

/**
 * Where a consumer sends: the arrival time (wallClockMs) of each indexed
 * packet, the first copy of it. Its socket is read on a thread of its own
 * (arrivalThread.ts): two logs in one event loop would stamp two packets
 * that came within one wake-up in the order the loop reads their sockets,
 * not the order they came in.
 */
export class ArrivalLog {
  readonly arrivedAt = new Map<number, number>();
  readonly #thread: Worker;

  private constructor(thread: Worker) {
    this.#thread = thread;
  }

  /** A log listening on `address`, and the port it listens on. */
  static async start(address: string): Promise<{ log: ArrivalLog; port: number }> {
    const log = new ArrivalLog(new Worker(new URL('./arrivalThread.ts', import.meta.url), { workerData: { address } }));
    const port = await new Promise<number>((resolve, reject) => {
      log.#thread.once('error', reject);
      log.#thread.on('message', (message: { port: number } | { index: number; at: number }) => {
        if ('port' in message) resolve(message.port);
        else if (!log.arrivedAt.has(message.index)) log.arrivedAt.set(message.index, message.at);
      });
    });
    return { log, port };
  }

  async close(): Promise<void> {
    await this.#thread.terminate();
  }
}
