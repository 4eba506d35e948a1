import type { Logger } from '../../common/logger.ts';
import type { PortPool } from '../../media/PortPool.ts';
import { RoomAudio } from '../../media/RoomAudio.ts';

export interface RoomLinksOptions {
  bridgeUrl: string;
  /** The bridge's SERVICE_SECRET, for the hidden listener. */
  serviceSecret: string | undefined;
  /** Our bridge-facing address, if configured (see RoomAudioOptions). */
  mediaAddress: string | undefined;
  ports: PortPool;
  logger: Logger;
}

interface Link {
  opening: Promise<RoomAudio>;
  audio?: RoomAudio;
  users: number;
}

/**
 * One RoomAudio per room that has callers on this gateway: opened by the
 * first call, closed with the last (so the gateway never keeps a room alive).
 */
export class RoomLinks {
  readonly #options: RoomLinksOptions;
  readonly #links = new Map<string, Link>();

  constructor(options: RoomLinksOptions) {
    this.#options = options;
  }

  /** Every open room's audio, for the mixer tick. */
  *opened(): Iterable<RoomAudio> {
    for (const link of this.#links.values()) {
      if (link.audio && !link.audio.closed) yield link.audio;
    }
  }

  /** The room's audio, opening it if needed (with the password of a locked room). */
  async acquire(room: string, password?: string): Promise<RoomAudio> {
    let link = this.#links.get(room);
    if (!link || link.audio?.closed) {
      const opening = RoomAudio.open({ room, password, ...this.#options });
      const created: Link = { opening, users: 0 };
      opening.then(
        (audio) => (created.audio = audio),
        () => {
          if (this.#links.get(room) === created) this.#links.delete(room);
        },
      );
      this.#links.set(room, (link = created));
    }
    link.users++;
    try {
      return await link.opening;
    } catch (error) {
      link.users--;
      throw error;
    }
  }

  release(room: string): void {
    const link = this.#links.get(room);
    if (!link || --link.users > 0) return;
    this.#links.delete(room);
    void link.opening.then((audio) => audio.close(), () => {});
  }

  closeAll(): void {
    for (const link of this.#links.values()) void link.opening.then((audio) => audio.close(), () => {});
    this.#links.clear();
  }
}
