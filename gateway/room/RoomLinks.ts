import type { Logger } from '../../common/logger.ts';
import type { PortPool } from '../../media/PortPool.ts';
import { RoomAudio } from '../../media/RoomAudio.ts';
import { REJOIN_CONNECT_TIMEOUT_MS, REJOIN_DEADLINE_MS, rejoinAt, rejoinTargets } from './bridgeFailover.ts';

export interface RoomLinksOptions {
  bridgeUrl: string;
  /** The bridge's SERVICE_SECRET, for the hidden listener. */
  serviceSecret: string | undefined;
  /** Our bridge-facing address, if configured (see RoomAudioOptions). */
  mediaAddress: string | undefined;
  /** GATEWAY_REGION: the rooms' listeners join saying so, as the callers do. */
  region: string | undefined;
  ports: PortPool;
  logger: Logger;
}

interface Link {
  opening: Promise<RoomAudio>;
  audio?: RoomAudio;
  users: number;
  /** The password the room was opened with, for joining it again elsewhere. */
  password: string | undefined;
  /** Aborted when the last call leaves: a re-join under way is abandoned. */
  readonly released: AbortController;
}

/**
 * One RoomAudio per room that has callers on this gateway: opened by the
 * first call, closed with the last (so the gateway never keeps a room alive),
 * and opened again elsewhere, once for all the room's calls, when its bridge
 * is lost.
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
      const released = new AbortController();
      link = { opening: RoomAudio.open({ ...this.#options, room, password, signal: released.signal }), users: 0, password, released };
      this.#settle(room, link);
      this.#links.set(room, link);
    }
    link.users++;
    try {
      return await link.opening;
    } catch (error) {
      link.users--;
      throw error;
    }
  }

  /**
   * The room's audio after `lost` (the audio a call was in the room with) lost
   * its bridge: joined again at the first bridge that takes it (the one it
   * was on, ours, then the room's fallbacks, all saying the bridge was lost),
   * within REJOIN_DEADLINE_MS. Every call of the room asks; the first starts
   * the re-join and the others wait for it, or get the audio it already made.
   */
  restore(room: string, lost: RoomAudio): Promise<RoomAudio> {
    const link = this.#links.get(room);
    if (!link) return Promise.reject(new Error(`room ${room} is not open here`));
    if (link.audio !== lost) return link.opening; // restored (or restoring) already
    link.audio = undefined;
    const { logger, bridgeUrl } = this.#options;
    const started = performance.now();
    const { targets, refused } = rejoinTargets({ lost: lost.url, configured: bridgeUrl, fallbacks: lost.fallbacks });
    if (refused.length > 0) logger.warn({ room, refused }, 'plain-HTTP fallback bridges skipped: this gateway connects to its bridge securely');
    logger.info({ room, bridge: lost.url, targets }, "room audio lost its bridge; joining again");
    const signal = AbortSignal.any([link.released.signal, AbortSignal.timeout(REJOIN_DEADLINE_MS)]);
    const reopened = rejoinAt(
      targets,
      (url) => RoomAudio.open({ ...this.#options, bridgeUrl: url, room, password: link.password, bridgeLost: true, signal, connectTimeoutMs: REJOIN_CONNECT_TIMEOUT_MS }),
      { signal, onFailure: (url, error) => logger.debug({ room, url, err: error }, 'room audio not back yet') },
    );
    reopened.then(
      (audio) => logger.info({ room, bridge: audio.url, ms: Math.round(performance.now() - started) }, 'room audio joined again'),
      (error: unknown) => logger.warn({ room, err: error }, 'room audio could not join again'),
    );
    link.opening = reopened;
    this.#settle(room, link);
    // A call may notice before the listener does (its own socket closed first): the listener's
    // bridge is the same, so it goes too, and the room's other calls follow from its 'closed'
    // (asking here, they get the re-join just started).
    lost.close('connectionLost');
    return reopened;
  }

  /** The link's opening becomes its audio once open; if it fails, the link is forgotten (the next call opens afresh). */
  #settle(room: string, link: Link): void {
    const { opening } = link;
    opening.then(
      (audio) => {
        if (link.opening === opening) link.audio = audio;
      },
      () => {
        if (this.#links.get(room) === link && link.opening === opening) this.#links.delete(room);
      },
    );
  }

  release(room: string): void {
    const link = this.#links.get(room);
    if (!link || --link.users > 0) return;
    this.#links.delete(room);
    link.released.abort();
    void link.opening.then((audio) => audio.close(), () => {});
  }

  closeAll(): void {
    for (const link of this.#links.values()) {
      link.released.abort();
      void link.opening.then((audio) => audio.close(), () => {});
    }
    this.#links.clear();
  }
}
