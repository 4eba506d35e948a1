// Time-limited TURN credentials by coturn's shared-secret REST scheme
// (`use-auth-secret`, draft-uberti-behave-turn-rest): the bridge and coturn
// share only a secret. The username carries its own expiry, and coturn
// recomputes the credential from it, so nothing per user is stored anywhere
// and a leaked credential stops working when its time is up.
import { createHmac } from 'node:crypto';
import type { IceServer } from '../../protocol/protocol.ts';

export interface TurnSettings {
  /** turn: and turns: URIs of the TURN servers, all sharing the secret. */
  urls: readonly string[];
  /** coturn's static-auth-secret. */
  secret: string;
  /** How long each credential is valid. */
  ttlSeconds: number;
}

export class TurnCredentials {
  readonly #settings: TurnSettings;

  constructor(settings: TurnSettings) {
    this.#settings = settings;
  }

  /**
   * The ICE servers for one peer: username `<expiry unix time>:<peer id>`
   * (coturn checks the expiry; the peer id ties its allocations to the peer
   * in coturn's log), credential base64(HMAC-SHA1(secret, username)).
   */
  issue(peerId: string, now = Date.now()): IceServer[] {
    const { urls, secret, ttlSeconds } = this.#settings;
    const username = `${Math.floor(now / 1000) + ttlSeconds}:${peerId}`;
    const credential = createHmac('sha1', secret).update(username).digest('base64');
    return [{ urls: [...urls], username, credential }];
  }
}
