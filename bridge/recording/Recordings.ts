import type { Logger } from '../../common/logger.ts';
import { FINAL_RECORDING_STATES, type ParsedRequestData, type RecordingInfo } from '../../protocol/protocol.ts';
import type { RoomRegistry } from '../rooms/RoomRegistry.ts';
import { RequestError } from '../signaling/RequestError.ts';
import { StreamDestinationRefused, type StreamDestinations } from '../streaming/StreamDestinations.ts';
import { RecordingQueue, RecordingUnavailableError } from '../../queue/RecordingQueue.ts';

export type RecordingRequest = ParsedRequestData<'startRecording'>;

/**
 * The bridge's side of recording: starts and stops jobs on the queue, and
 * shows each job's progress to its room (late joiners get the ones under way).
 * REST and signaling both start recordings here, so the preconditions (a live
 * room, allowed stream destinations) hold for both. Every bridge of a
 * deployment hears the one queue's events, so a room served by two bridges
 * (cascading) is told of its recordings on both: each bridge tells its own
 * copy of the room, whose participants it serves (a satellite's join gets
 * them too). Only the room's home starts and stops them (a satellite refuses
 * that, and its REST sends it to the home).
 */
export class Recordings {
  readonly #queue: RecordingQueue | null;
  readonly #registry: RoomRegistry;
  readonly #destinations: StreamDestinations;
  readonly #logger: Logger;
  /** Recordings not yet final, by room then id. */
  readonly #current = new Map<string, Map<string, RecordingInfo>>();

  constructor(redisUrl: string | undefined, registry: RoomRegistry, destinations: StreamDestinations, logger: Logger) {
    this.#registry = registry;
    this.#destinations = destinations;
    this.#logger = logger;
    this.#queue = redisUrl ? new RecordingQueue(redisUrl, logger) : null;
    this.#queue?.on('update', (info) => this.#publish(info));
    // Recordings outlive a bridge restart: pick up the ones already under way.
    this.#queue?.current().then(
      (infos) => infos.forEach((info) => this.#publish(info)),
      (error: unknown) => logger.warn({ err: error }, 'cannot list the recordings under way'),
    );
  }

  current(room: string): RecordingInfo[] {
    return [...(this.#current.get(room)?.values() ?? [])];
  }

  async start(room: string, requestedBy: string, request: RecordingRequest): Promise<RecordingInfo> {
    // A recorder joining a room nobody is in would create it and wait there for nobody.
    const live = this.#registry.get(room);
    if (!live || live.closed || live.visiblePeers().length === 0) throw new RequestError('notFound', `no live room ${room}`);
    const what = request.audioOnly || request.file ? 'recording' : 'streaming';
    live.moderation.e2ee.refuse(what);
    for (const url of request.streams) await this.#checkDestination(room, url);
    const audio = request.audioOnly;
    const info = await this.#call((queue) =>
      queue.start({
        room,
        mode: audio ? 'audio' : 'composite',
        layout: request.layout,
        outputs: {
          file: request.file ? { format: audio ? 'm4a' : 'mp4' } : undefined,
          streams: request.streams.map((url) => ({ url })),
        },
        maxDurationSeconds: request.maxDurationSeconds,
        requestedBy,
      }),
    );
    this.#logger.info({ room, id: info.id, audio, streams: info.streams.length, file: info.file }, 'recording queued');
    this.#publish(info);
    return info;
  }

  async stop(room: string, id: string): Promise<void> {
    const known = this.#current.get(room)?.get(id) ?? (await this.#call((queue) => queue.status(id)));
    if (!known || known.room !== room) throw new RequestError('notFound', `no recording ${id} in ${room}`);
    const info = await this.#call((queue) => queue.stop(id));
    if (info) this.#publish(info);
  }

  async close(): Promise<void> {
    await this.#queue?.close();
  }

  /** The URL holds the stream key, a secret: only the refusal's reason (which names the host) is logged and returned. */
  async #checkDestination(room: string, url: string): Promise<void> {
    try {
      await this.#destinations.check(url);
    } catch (error) {
      if (!(error instanceof StreamDestinationRefused)) throw error;
      this.#logger.warn({ room, reason: error.message }, 'stream destination refused');
      throw new RequestError('forbidden', error.message);
    }
  }

  async #call<T>(work: (queue: RecordingQueue) => Promise<T>): Promise<T> {
    if (!this.#queue) throw new RequestError('unavailable', 'recording is not configured on this bridge (REDIS_URL is unset)');
    try {
      return await work(this.#queue);
    } catch (error) {
      if (error instanceof RecordingUnavailableError) throw new RequestError('unavailable', error.message);
      throw error;
    }
  }

  #publish(info: RecordingInfo): void {
    let room = this.#current.get(info.room);
    if (!room) this.#current.set(info.room, (room = new Map()));
    if (FINAL_RECORDING_STATES.has(info.state)) room.delete(info.id);
    else room.set(info.id, info);
    if (room.size === 0) this.#current.delete(info.room);
    this.#registry.get(info.room)?.broadcast('recordingUpdated', { recording: info });
  }
}
