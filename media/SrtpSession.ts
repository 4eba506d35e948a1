// SRTP and SRTCP (RFC 3711) for a phone leg keyed by SDES, profile
// AES_CM_128_HMAC_SHA1_80. The cipher and authentication are werift-rtp's
// (AES-CTR and HMAC-SHA1 from node:crypto); this module adds what werift does
// not: the replay list RFC 3711 3.3.2 requires of a receiver, and a boundary
// that turns every failure into "drop this packet".
import { ProtectionProfileAes128CmHmacSha1_80, RtpHeader, SrtcpSession, SrtpSession as WeriftSrtpSession } from 'werift-rtp';
import { sequenceDelta } from './rtp.ts';

/** A master key (16 bytes) and salt (14 bytes), as SDES carries them. */
export interface SrtpKey {
  key: Buffer;
  salt: Buffer;
}

export const SRTP_KEY_LENGTH = 16;
export const SRTP_SALT_LENGTH = 14;

/** Packets behind the newest one that are still taken once each (RFC 3711's default window). */
const REPLAY_WINDOW = 64;

/**
 * Remembers which recent sequence numbers of one SSRC arrived: a copy, or one
 * older than the window, is refused.
 */
class ReplayList {
  #newest: number | undefined;
  /** Bit i set: the packet i behind the newest arrived. */
  #seen = 0n;

  /** True (and recorded) for a packet not seen before. */
  accept(sequence: number): boolean {
    if (this.#newest === undefined) {
      this.#newest = sequence;
      this.#seen = 1n;
      return true;
    }
    const ahead = sequenceDelta(sequence, this.#newest);
    if (ahead > 0) {
      this.#seen = ahead >= REPLAY_WINDOW ? 1n : ((this.#seen << BigInt(ahead)) | 1n) & ((1n << BigInt(REPLAY_WINDOW)) - 1n);
      this.#newest = sequence;
      return true;
    }
    const behind = -ahead;
    if (behind >= REPLAY_WINDOW) return false;
    const bit = 1n << BigInt(behind);
    if (this.#seen & bit) return false;
    this.#seen |= bit;
    return true;
  }
}

/**
 * Both directions of one leg: our key protects what we send, the far end's
 * key unprotects what it sends. Unprotect returns undefined for anything
 * that fails authentication, is replayed or is not SRTP at all.
 */
export class SrtpSession {
  readonly #rtp: WeriftSrtpSession;
  readonly #rtcp: SrtcpSession;
  readonly #replay = new Map<number, ReplayList>();
  /** Failed authentication or replay since start: what an attack or a key mismatch looks like. */
  rejected = 0;

  constructor(local: SrtpKey, remote: SrtpKey) {
    const config = {
      keys: { localMasterKey: local.key, localMasterSalt: local.salt, remoteMasterKey: remote.key, remoteMasterSalt: remote.salt },
      profile: ProtectionProfileAes128CmHmacSha1_80,
    };
    this.#rtp = new WeriftSrtpSession(config);
    this.#rtcp = new SrtcpSession(config);
  }

  /** An RTP packet (12-byte header, no CSRCs or extension, as the gateway sends) made SRTP. */
  protectRtp(packet: Buffer): Buffer {
    const header = new RtpHeader({
      marker: (packet[1]! & 0x80) !== 0,
      payloadType: packet[1]! & 0x7f,
      sequenceNumber: packet.readUInt16BE(2),
      timestamp: packet.readUInt32BE(4),
      ssrc: packet.readUInt32BE(8),
    });
    return this.#rtp.encrypt(packet.subarray(12), header);
  }

  protectRtcp(packet: Buffer): Buffer {
    return this.#rtcp.encrypt(packet);
  }

  unprotectRtp(packet: Buffer): Buffer | undefined {
    if (packet.length < 12 + 10) return this.#reject();
    let plain: Buffer;
    try {
      plain = this.#rtp.decrypt(packet);
    } catch {
      return this.#reject();
    }
    const ssrc = plain.readUInt32BE(8);
    let replay = this.#replay.get(ssrc);
    if (!replay) {
      // One leg carries one or two SSRCs (a phone may restart its stream); bound the table anyway.
      if (this.#replay.size >= 8) this.#replay.clear();
      replay = new ReplayList();
      this.#replay.set(ssrc, replay);
    }
    return replay.accept(plain.readUInt16BE(2)) ? plain : this.#reject();
  }

  unprotectRtcp(packet: Buffer): Buffer | undefined {
    // Header, sender SSRC, E flag and index, authentication tag.
    if (packet.length < 8 + 4 + 10) return this.#reject();
    try {
      return this.#rtcp.decrypt(packet);
    } catch {
      return this.#reject();
    }
  }

  #reject(): undefined {
    this.rejected++;
    return undefined;
  }
}
