import type { Logger } from '../common/logger.ts';
import { peerInfoSchema } from '../protocol/protocol.ts';
import { serviceAuthorization } from '../protocol/serviceAuth.ts';
import { z } from 'zod';

const roomSchema = z.object({ participants: z.array(peerInfoSchema) });

/**
 * Watches a room through the bridge's REST API for the stop conditions a
 * recording has (as Jibri's): how long it has been empty, how long nobody
 * has sent media, and who took part (for the metadata). The hidden
 * recorder itself is never listed by the bridge.
 */
export class RoomWatch {
  /** Everyone seen in the room while recording, by display name. */
  readonly participants = new Set<string>();
  #emptySince: number | null;
  #lastMediaAt: number;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  #refusalSaid = false;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;

  /** `serviceSecret`: the bridge's SERVICE_SECRET, which the room's REST answer requires. */
  constructor(bridgeUrl: string, serviceSecret: string | undefined, room: string, logger: Logger, everyMs = 1000) {
    const now = Date.now();
    this.#emptySince = now;
    this.#lastMediaAt = now;
    this.#url = `${bridgeUrl}/api/rooms/${encodeURIComponent(room)}`;
    this.#headers = serviceAuthorization(serviceSecret);
    this.#logger = logger;
    this.#timer = setInterval(() => void this.#poll(), everyMs);
    void this.#poll();
  }

  /** How long the room has had nobody in it (0 while someone is). */
  emptyForMs(now = Date.now()): number {
    return this.#emptySince === null ? 0 : now - this.#emptySince;
  }

  /** How long since anyone had an unmuted microphone, camera or screen share. */
  noMediaForMs(now = Date.now()): number {
    return now - this.#lastMediaAt;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    try {
      const response = await fetch(this.#url, { headers: this.#headers, signal: AbortSignal.timeout(3000) });
      if (response.status === 401 || response.status === 403) {
        // Not transient: the empty-room and no-media checks see nobody until the secrets match, so say it once, loudly.
        if (!this.#refusalSaid) this.#logger.warn({ status: response.status }, "the bridge refuses to show the room: SERVICE_SECRET must be the bridge's");
        this.#refusalSaid = true;
        return;
      }
      // A room with nobody left is closed by the bridge: 404 means empty.
      const participants = response.status === 404 ? [] : roomSchema.parse(await response.json()).participants;
      const now = Date.now();
      for (const peer of participants) this.participants.add(peer.displayName);
      if (participants.length > 0) this.#emptySince = null;
      else this.#emptySince ??= now;
      if (participants.some((peer) => peer.producers.some((producer) => !producer.paused))) this.#lastMediaAt = now;
    } catch (error) {
      // The bridge being briefly unreachable is not a reason to stop recording.
      this.#logger.debug({ err: error }, 'cannot read the room');
    }
  }
}
