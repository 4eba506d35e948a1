// What two bridges serving one room say to each other over their link (a
// WebSocket from the satellite to the room's home, CASCADE_LINK_PATH): one
// schema, validated at both ends. The satellite opens with `open`; the home
// answers `opened` (or `refused`, and closes). Then either side tells the
// other of its own peers (never of the other's, which it only mirrors), its
// chat, and its producers: each producer is piped once to the other bridge
// over the link's PipeTransport pair, and followed there (pause, close).
import { z } from 'zod';
import {
  chatMessageSchema,
  describeZodError,
  dialInSchema,
  disconnectReasonSchema,
  entityId,
  mediaKindSchema,
  mediaSourceSchema,
  peerInfoSchema,
  roomNameSchema,
  rtpParametersSchema,
} from './protocol.ts';

/**
 * Beside the signaling socket (SIGNALING_PATH, a name no room can take), outside /api: the link has
 * its own credentials (a link token), not the operator's REST ones.
 */
export const CASCADE_LINK_PATH = '/ws/cascade';
/** A link message is at most this big (the largest is `opened`, with the home's peers and chat history). */
export const CASCADE_MAX_MESSAGE_BYTES = 512 * 1024;

/** One end of the link's PipeTransport pair: where it listens, and its SRTP keys (the link is the only trust). */
const pipeEndSchema = z.object({
  ip: z.string().min(1).max(64),
  port: z.number().int().min(1).max(65535),
  srtpParameters: z.object({ cryptoSuite: z.enum(['AEAD_AES_256_GCM', 'AEAD_AES_128_GCM', 'AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']), keyBase64: z.string().max(256) }),
});
export type PipeEnd = z.infer<typeof pipeEndSchema>;

export const linkMessageSchema = z.discriminatedUnion('type', [
  /** Satellite to home: it serves `room` here too; its pipe end. */
  z.object({ type: z.literal('open'), room: roomNameSchema, pipe: pipeEndSchema }),
  /** Home to satellite: the home's peers and chat so far, its pipe end, and the meeting's dial-in PIN (the satellite shows it). */
  z.object({ type: z.literal('opened'), peers: z.array(peerInfoSchema).max(1000), chat: z.array(chatMessageSchema).max(100), pipe: pipeEndSchema, pin: dialInSchema.shape.pin }),
  /** Home to satellite: the room is not served there (and why); the link closes. */
  z.object({ type: z.literal('refused'), message: z.string().max(512) }),
  z.object({ type: z.literal('peerJoined'), peer: peerInfoSchema }),
  z.object({ type: z.literal('peerUpdated'), peer: peerInfoSchema }),
  z.object({ type: z.literal('peerLeft'), peerId: entityId }),
  z.object({ type: z.literal('chat'), message: chatMessageSchema }),
  /** A producer of the sender's, piped: the receiver produces it on its pipe transport under the same id. */
  z.object({
    type: z.literal('produce'),
    producerId: entityId,
    peerId: entityId,
    kind: mediaKindSchema,
    source: mediaSourceSchema,
    rtpParameters: rtpParametersSchema,
    paused: z.boolean(),
  }),
  z.object({ type: z.literal('producerPaused'), producerId: entityId, paused: z.boolean() }),
  z.object({ type: z.literal('producerClosed'), producerId: entityId }),
  /**
   * Home to satellite: whether the home's room is locked and has its lobby on now, and who changed
   * it. While either is, the satellite sends new joins to the home, which checks them (those in
   * stay); its participants are shown both as the home's are.
   */
  z.object({ type: z.literal('entry'), locked: z.boolean(), lobby: z.boolean(), by: z.string().max(128).optional() }),
  /** Home to satellite: the room closed on its home; the satellite's peers are told why. */
  z.object({ type: z.literal('close'), reason: disconnectReasonSchema }),
]);
export type LinkMessage = z.infer<typeof linkMessageSchema>;

/** A link message from its text, or why it is not one. */
export function parseLinkMessage(text: string): { message: LinkMessage } | { error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = linkMessageSchema.safeParse(json);
  return parsed.success ? { message: parsed.data } : { error: `invalid message: ${describeZodError(parsed.error)}` };
}
