// The signaling protocol between the bridge and its clients (the web client,
// the SIP gateway, the recorder and any other service), over one WebSocket
// per peer. Both sides import this file; each side validates what it receives.
//
//   client -> bridge  request       { id, method, data }
//   bridge -> client  response      { id, ok: true, data } | { id, ok: false, error }
//   bridge -> client  notification  { notification, data }
//
// Media parameters (RTP parameters and capabilities, DTLS and ICE parameters)
// are checked for shape here; mediasoup validates their details and its
// complaints come back as a `mediaError` response.
import { z } from 'zod';
import type {
  DtlsParameters,
  IceCandidate,
  IceParameters,
  RtpCapabilities,
  RtpParameters,
} from 'mediasoup-client/types';

/** Where a peer's signaling socket is served. */
export const SIGNALING_PATH = '/ws';

// ---------------------------------------------------------------------------
// Building blocks

export const entityId = z.string().min(1).max(64);
const int = z.number().int();

/** Paths the bridge serves itself, so no room can be reached there. */
const RESERVED_ROOM_NAMES = new Set(['api', 'docs', 'ws', 'healthz', 'metrics', 'assets', 'recorder']);

export const roomNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'letters, digits, - and _ only (1 to 64, starting with a letter or digit)')
  .refine((name) => !RESERVED_ROOM_NAMES.has(name.toLowerCase()), 'this name is reserved');

/** A deployment's region label (BRIDGE_REGION, a join's `region`): short, as operators name them (eu-west, b). */
export const regionSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, 'letters, digits, ., - and _ only (1 to 32)');

/** Who may enter the bridge's rooms (its AUTH_MODE). */
export const authModeSchema = z.enum(['open', 'token', 'secure']);
export type AuthMode = z.infer<typeof authModeSchema>;

export const displayNameSchema = z.string().trim().min(1).max(64);

/**
 * A bridge's public URL (BRIDGE_PUBLIC_URL), where a join is sent when its room
 * lives on that bridge (the `elsewhere` error). Only bridges write these, into
 * the room directory; a client never supplies one.
 */
export const bridgeUrlSchema = z.url({ protocol: /^https?$/, error: 'expected an http or https URL' }).max(512);
/** A join answers at most this many fallback bridges. */
export const MAX_BRIDGE_FALLBACKS = 8;

/** What sits behind a peer. Recorders are hidden from participant lists. */
export const peerKindSchema = z.enum(['web', 'phone', 'recorder', 'service']);
export type PeerKind = z.infer<typeof peerKindSchema>;

/** What a web peer may do in its room: moderators take the moderator-only actions (see ACCESS_RULES on the bridge). */
export const ROLES = ['moderator', 'participant'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/**
 * What a peer may do beyond its role, from its join token (all allowed
 * without one). A moderator may take every moderator action except those a
 * grant here turns off (record, stream, dialOut); publish and subscribe
 * apply to everyone.
 */
export const grantsSchema = z
  .object({
    publish: z.boolean().default(true),
    subscribe: z.boolean().default(true),
    record: z.boolean().default(true),
    stream: z.boolean().default(true),
    dialOut: z.boolean().default(true),
  })
  .strict();
export type Grants = z.infer<typeof grantsSchema>;
export type Grant = keyof Grants;

export const mediaKindSchema = z.enum(['audio', 'video']);
export type MediaKind = z.infer<typeof mediaKindSchema>;

/** What a producer carries. */
export const mediaSourceSchema = z.enum(['mic', 'camera', 'screen']);
export type MediaSource = z.infer<typeof mediaSourceSchema>;

// Loose shapes for mediasoup's structures: enough to reject garbage early with
// a readable message; mediasoup checks the rest.
const codecShape = z.looseObject({
  mimeType: z.string().regex(/^(audio|video)\/[A-Za-z0-9._-]+$/),
  clockRate: int.positive(),
});
export const rtpParametersSchema = z.looseObject({
  mid: z.string().max(32).optional(),
  codecs: z.array(codecShape.extend({ payloadType: int.min(0).max(127) })).min(1).max(32),
  encodings: z.array(z.looseObject({})).max(8).optional(),
  headerExtensions: z.array(z.looseObject({ uri: z.string(), id: int })).max(32).optional(),
}) as unknown as z.ZodType<RtpParameters>;
const rtpCapabilitiesSchema = z.looseObject({
  codecs: z.array(codecShape.extend({ kind: mediaKindSchema })).max(64).optional(),
  headerExtensions: z.array(z.looseObject({ uri: z.string() })).max(64).optional(),
}) as unknown as z.ZodType<RtpCapabilities>;
const dtlsParametersSchema = z.looseObject({
  role: z.enum(['auto', 'client', 'server']).optional(),
  fingerprints: z.array(z.looseObject({ algorithm: z.string(), value: z.string() })).min(1).max(8),
}) as unknown as z.ZodType<DtlsParameters>;
const iceParametersSchema = z.looseObject({
  usernameFragment: z.string(),
  password: z.string(),
}) as unknown as z.ZodType<IceParameters>;
const iceCandidateSchema = z.looseObject({
  foundation: z.string(),
  ip: z.string(),
  port: int,
  protocol: z.enum(['udp', 'tcp']),
}) as unknown as z.ZodType<IceCandidate>;
const ipSchema = z.union([z.ipv4(), z.ipv6()]);

/** A TURN server's URI (RFC 7065): turn: or turns:, a host, an optional port and transport. */
export const TURN_URI = /^turns?:(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?(?:\?transport=(?:udp|tcp))?$/;

/**
 * A TURN server with time-limited credentials for one peer (coturn's
 * shared-secret REST scheme): the shape of a browser's RTCIceServer.
 */
export const iceServerSchema = z.object({
  urls: z.array(z.string().max(300).regex(TURN_URI, 'expected a turn: or turns: URI')).min(1).max(16),
  username: z.string().min(1).max(256),
  credential: z.string().min(1).max(256),
});
export type IceServer = z.infer<typeof iceServerSchema>;
/** A peer's TURN servers, each time with credentials fresh from then (the join's expire: TURN_CREDENTIAL_TTL_SECONDS). */
const iceServersSchema = z.array(iceServerSchema).max(4);
const portSchema = int.min(1).max(65535);

// ---------------------------------------------------------------------------
// Shared records

export const producerInfoSchema = z.object({
  id: entityId,
  kind: mediaKindSchema,
  source: mediaSourceSchema,
  paused: z.boolean(),
});
export type ProducerInfo = z.infer<typeof producerInfoSchema>;

/** Someone waiting in a room's lobby, as its moderators see them: a browser's name or a phone's caller ID. */
export const knockSchema = z.object({
  id: entityId,
  displayName: displayNameSchema,
  kind: z.enum(['web', 'phone']),
  /** When they knocked (ms since the epoch). */
  since: int,
});
export type Knock = z.infer<typeof knockSchema>;

/** A room's lobby: whether it is on, and (to moderators only) who waits in it. */
export const lobbySchema = z.object({ enabled: z.boolean(), knocks: z.array(knockSchema) });

export const peerInfoSchema = z.object({
  id: entityId,
  displayName: z.string(),
  kind: peerKindSchema,
  role: roleSchema,
  handRaised: z.boolean(),
  joinedAt: int,
  producers: z.array(producerInfoSchema),
  /** It says it sends end-to-end encrypted media (its client encrypts each frame; the bridge cannot check). */
  encrypting: z.boolean(),
});
export type PeerInfo = z.infer<typeof peerInfoSchema>;

export const chatMessageSchema = z.object({
  id: entityId,
  peerId: entityId,
  displayName: z.string(),
  text: z.string(),
  at: int,
});
export type ChatMessage = z.infer<typeof chatMessageSchema>;

export const consumerInfoSchema = z.object({
  id: entityId,
  producerId: entityId,
  peerId: entityId,
  kind: mediaKindSchema,
  source: mediaSourceSchema,
  rtpParameters: rtpParametersSchema,
  producerPaused: z.boolean(),
});
export type ConsumerInfo = z.infer<typeof consumerInfoSchema>;

/** How a phone reaches the room: call a number, then enter the PIN. */
export const dialInSchema = z.object({
  pin: z.string().regex(/^[0-9]{6,9}$/),
  numbers: z.array(z.string()),
});
export type DialIn = z.infer<typeof dialInSchema>;

/** A locked room's password: digits only, so phone callers can type it on the keypad. */
export const roomPasswordSchema = z.string().regex(/^[0-9]{4,12}$/, '4 to 12 digits (phone callers type it on the keypad)');

/** A phone number to call out to; spaces, dashes and brackets are dropped. */
export const phoneNumberSchema = z
  .string()
  .trim()
  .regex(/^\+?[0-9][0-9 ()-]{2,40}$/, 'a phone number such as +1 555 010 0199')
  .transform((number) => number.replace(/[^0-9+]/g, ''))
  .refine((number) => number.length <= 32, 'at most 32 digits');

/** Where a phone invitation stands. The last five are final. */
export const dialOutStateSchema = z.enum(['calling', 'ringing', 'answered', 'ended', 'busy', 'noAnswer', 'failed', 'cancelled']);
export type DialOutState = z.infer<typeof dialOutStateSchema>;
export const FINAL_DIAL_OUT_STATES: ReadonlySet<DialOutState> = new Set(['ended', 'busy', 'noAnswer', 'failed', 'cancelled']);

export const dialOutCallSchema = z.object({
  id: entityId,
  number: z.string(),
  state: dialOutStateSchema,
  /** Why it ended, in words (e.g. "486 Busy Here"). */
  reason: z.string().optional(),
  requestedBy: z.string(),
  startedAt: int,
  /** The callee's participant, once answered. */
  peerId: entityId.optional(),
});
export type DialOutCall = z.infer<typeof dialOutCallSchema>;

/** A SIP gateway's registration with its trunk, as shown in /healthz. */
export const trunkRegistrationSchema = z.object({
  state: z.enum(['registering', 'registered', 'failed']),
  registrar: z.string(),
  expiresAt: int.optional(),
  lastError: z.string().optional(),
  lastRegisteredAt: int.optional(),
});
export type TrunkRegistration = z.infer<typeof trunkRegistrationSchema>;

/** A live-stream destination: an rtmp:// or rtmps:// URL (the stream key is its last path segment). */
export const streamUrlSchema = z
  .string()
  .trim()
  .max(1024)
  .refine((value) => URL.canParse(value) && /^rtmps?:$/.test(new URL(value).protocol) && new URL(value).hostname !== '', {
    message: 'expected an rtmp:// or rtmps:// URL such as rtmp://a.rtmp.youtube.com/live2/<stream key>',
  });

/** Where a recording or live stream stands. `finished` and `failed` are final. */
export const recordingStateSchema = z.enum(['queued', 'starting', 'active', 'stopping', 'finished', 'failed']);
export type RecordingState = z.infer<typeof recordingStateSchema>;
export const FINAL_RECORDING_STATES: ReadonlySet<RecordingState> = new Set(['finished', 'failed']);

/** How long a recording may be asked to run at most. */
export const maxDurationSecondsSchema = z.number().int().min(5).max(24 * 3600);

/** One RTMP destination of a recording; the URL is shown without its stream key. */
export const streamStatusSchema = z.object({
  url: z.string(),
  state: z.enum(['connecting', 'live', 'failed', 'ended']),
  error: z.string().optional(),
});
export type StreamStatus = z.infer<typeof streamStatusSchema>;

export const recordingInfoSchema = z.object({
  id: entityId,
  room: roomNameSchema,
  /** A composite of the meeting (browser), or its mixed audio only. */
  mode: z.enum(['composite', 'audio']),
  state: recordingStateSchema,
  /** Whether it writes a file (else it only streams). */
  file: z.boolean(),
  streams: z.array(streamStatusSchema),
  requestedBy: z.string(),
  /** When capture began (ms since the epoch); null until then. */
  startedAt: int.nullable(),
  durationSeconds: z.number(),
  /** Written to the file so far. */
  bytes: int,
  droppedFrames: int,
  /** Frames per second actually captured lately (below the job's fps when the machine is overloaded). */
  fps: z.number(),
  /** Capture was restarted after a crash: the number of parts so far. */
  parts: int,
  /** Why it failed, or what went wrong along the way (a destination refused). */
  error: z.string().optional(),
});
export type RecordingInfo = z.infer<typeof recordingInfoSchema>;

/** A finished recording on disk, as REST lists it. */
export const recordingFileSchema = z.object({
  id: z.string(),
  room: roomNameSchema,
  /** The file's name in the room's folder, e.g. 2026-11-21T10-00-00-000Z.mp4 */
  name: z.string(),
  /** Where to download it (GET). */
  url: z.string(),
  mode: z.enum(['composite', 'audio']),
  startedAt: int,
  endedAt: int,
  durationSeconds: z.number(),
  bytes: int,
  /** Why it stopped: stopped, roomEmpty, noMedia, maxDuration, roomClosed, failed. */
  stopReason: z.string(),
  /** More than 1: the capture restarted after a crash (see `errors`). */
  parts: int,
  errors: z.array(z.string()),
});
export type RecordingFile = z.infer<typeof recordingFileSchema>;

// ---------------------------------------------------------------------------
// Requests: what each method takes and what it answers.

export const CHAT_MAX_LENGTH = 2000;
/** An E2EE key message: a public key or a wrapped key in base64 fits with room to spare. */
export const E2EE_MESSAGE_MAX_LENGTH = 4096;

export const requests = {
  /** Enter a room (created on first join). Must come before anything else. */
  join: {
    request: z.object({
      room: roomNameSchema,
      displayName: displayNameSchema,
      kind: peerKindSchema.default('web'),
      /** Needed when the room is locked. */
      password: z.string().max(64).optional(),
      /** The bridge's SERVICE_SECRET; needed by every kind but web (phone, service, recorder). */
      secret: z.string().max(256).optional(),
      /**
       * A join token (JWT, see accessTokens.ts): the web client's ?jwt=. Sets the role, name and grants.
       * AUTH_MODE=token: required; secure: required of moderators (a guest without one waits for a moderator,
       * told by `waitingForHost`); open: optional, but checked when given.
       */
      token: z.string().max(8192).optional(),
      /**
       * A phone answering a dial-out invitation names it: a moderator invited it, so it skips the lobby.
       * The bridge checks that the invitation is this room's and still under way.
       */
      dialOutCallId: entityId.optional(),
      /** The client can encrypt frames end to end (encoded transforms): needed to join a meeting with E2EE on. */
      e2eeCapable: z.boolean().default(false),
      /**
       * The client's connection to this room's bridge broke (it rejoins through a fallback): if the
       * directory still names a bridge that does not answer, this bridge takes the room over instead
       * of answering `elsewhere` with the dead one.
       */
      bridgeLost: z.boolean().default(false),
      /**
       * Where the client is (the web client's ?region=): a bridge of that region (BRIDGE_REGION) serves
       * the room to it, linked to the room's home bridge elsewhere, instead of sending it there.
       */
      region: regionSchema.optional(),
    }),
    response: z.object({
      peerId: entityId,
      role: roleSchema,
      grants: grantsSchema,
      /** For REST calls about this room (its recordings): Authorization: Bearer, or ?access_token= on links. */
      accessToken: z.string(),
      room: roomNameSchema,
      routerRtpCapabilities: rtpCapabilitiesSchema,
      peers: z.array(peerInfoSchema),
      chat: z.array(chatMessageSchema),
      activeSpeakerId: entityId.nullable(),
      dialIn: dialInSchema,
      locked: z.boolean(),
      /** Moderators see who waits; others see only whether the lobby is on. */
      lobby: lobbySchema,
      /** Whether a SIP gateway can call phones into the room right now. */
      dialOutAvailable: z.boolean(),
      dialOuts: z.array(dialOutCallSchema),
      /** Recordings and live streams under way. */
      recordings: z.array(recordingInfoSchema),
      /** End-to-end encryption is on: send only encrypted media, and expect it from everyone. */
      e2ee: z.boolean(),
      /** TURN servers to reach media through when nothing else gets through; credentials for this join only. Absent: none configured. */
      iceServers: iceServersSchema.optional(),
      /**
       * The deployment's other live bridges (public URLs), in the order this room's clients try them
       * (joining with `bridgeLost`) when their bridge is lost: the same order for every client of the
       * room, so they meet on one bridge. Empty without a room directory (no REDIS_URL); absent from
       * a bridge older than its client (a rolling upgrade), whose joins must not fail for it: none.
       */
      fallbacks: z.array(bridgeUrlSchema).max(MAX_BRIDGE_FALLBACKS).default([]),
    }),
  },
  leave: { request: z.object({}), response: z.object({}) },
  /** A client's heartbeat (see liveness.ts): answered at once, before join too. */
  ping: { request: z.object({}), response: z.object({}) },

  createWebRtcTransport: {
    request: z.object({ direction: z.enum(['send', 'recv']) }),
    response: z.object({
      id: entityId,
      iceParameters: iceParametersSchema,
      iceCandidates: z.array(iceCandidateSchema),
      dtlsParameters: dtlsParametersSchema,
    }),
  },
  connectWebRtcTransport: {
    request: z.object({ transportId: entityId, dtlsParameters: dtlsParametersSchema }),
    response: z.object({}),
  },
  restartIce: {
    request: z.object({ transportId: entityId }),
    response: z.object({
      iceParameters: iceParametersSchema,
      /** Credentials fresh from this restart, for the transport to use from now on (the join's may have expired). Absent: no TURN. */
      iceServers: iceServersSchema.optional(),
    }),
  },

  /** A plain RTP transport, for services (SIP gateway, audio recorder). */
  createPlainTransport: {
    request: z.object({
      /** Latch onto the source of the first packet received (symmetric RTP). */
      comedia: z.boolean().default(false),
      rtcpMux: z.boolean().default(true),
    }),
    response: z.object({ id: entityId, ip: z.string(), port: portSchema, rtcpPort: portSchema.optional() }),
  },
  connectPlainTransport: {
    request: z.object({
      transportId: entityId,
      ip: ipSchema,
      port: portSchema,
      rtcpPort: portSchema.optional(),
    }),
    response: z.object({}),
  },

  produce: {
    request: z.object({
      transportId: entityId,
      kind: mediaKindSchema,
      source: mediaSourceSchema,
      rtpParameters: rtpParametersSchema,
      paused: z.boolean().default(false),
    }),
    response: z.object({ producerId: entityId }),
  },
  closeProducer: { request: z.object({ producerId: entityId }), response: z.object({}) },
  /** Mute (paused) and unmute; everyone sees the new state. */
  setProducerPaused: {
    request: z.object({ producerId: entityId, paused: z.boolean() }),
    response: z.object({}),
  },

  /**
   * Receive every producer in the room (of the given kinds), now and later,
   * on this transport. Each arrives as a paused `newConsumer` notification;
   * resume it once ready.
   */
  subscribe: {
    request: z.object({
      transportId: entityId,
      rtpCapabilities: rtpCapabilitiesSchema,
      kinds: z.array(mediaKindSchema).min(1).default(['audio', 'video']),
    }),
    response: z.object({}),
  },
  /** Receive one producer (services pick what they consume). */
  consume: {
    request: z.object({
      transportId: entityId,
      producerId: entityId,
      rtpCapabilities: rtpCapabilitiesSchema,
      paused: z.boolean().default(false),
    }),
    response: consumerInfoSchema,
  },
  resumeConsumer: { request: z.object({ consumerId: entityId }), response: z.object({}) },
  closeConsumer: { request: z.object({ consumerId: entityId }), response: z.object({}) },
  /** Ask for the simulcast layer that fits the tile the video is shown in. */
  setPreferredLayers: {
    request: z.object({
      consumerId: entityId,
      spatialLayer: int.min(0).max(2),
      temporalLayer: int.min(0).max(2).optional(),
    }),
    response: z.object({}),
  },

  chat: {
    request: z.object({ text: z.string().trim().min(1).max(CHAT_MAX_LENGTH) }),
    response: z.object({ message: chatMessageSchema }),
  },
  setHandRaised: { request: z.object({ raised: z.boolean() }), response: z.object({}) },
  setDisplayName: { request: z.object({ displayName: displayNameSchema }), response: z.object({}) },

  // Moderation: moderators only (others get `forbidden` naming the action).
  /** Mutes another participant's microphone; only they can unmute it. */
  muteParticipant: { request: z.object({ peerId: entityId }), response: z.object({}) },
  /** Mutes every other participant's microphone (each is told, as with muteParticipant); answers how many were muted. */
  muteAll: { request: z.object({}), response: z.object({ muted: int }) },
  /** Takes a participant out of the room (told `disconnected: kicked`). */
  removeParticipant: { request: z.object({ peerId: entityId }), response: z.object({}) },
  /** Makes a participant a moderator too (everyone sees the role in peerUpdated; they get `roleChanged`). */
  promote: { request: z.object({ peerId: entityId }), response: z.object({}) },
  /** Ends the meeting for everyone (each is told `disconnected: meetingEnded`). */
  endMeeting: { request: z.object({}), response: z.object({}) },
  /** Locks the room with a password (null unlocks). Who is inside stays. */
  setRoomPassword: { request: z.object({ password: roomPasswordSchema.nullable() }), response: z.object({}) },
  /**
   * Turns the lobby on or off. While it is on, everyone but moderators and the bridge's own services
   * knocks (told `waitingInLobby`) and waits for a moderator to admit or deny them. Turning it off
   * admits everyone waiting.
   */
  setLobby: { request: z.object({ enabled: z.boolean() }), response: z.object({}) },
  /** Lets one knock in (`knockId`), or everyone waiting (no `knockId`); answers how many. */
  admit: { request: z.object({ knockId: entityId.optional() }), response: z.object({ admitted: int }) },
  /** Turns one knock away (their join fails with `notAdmitted`), or everyone waiting; answers how many. */
  deny: { request: z.object({ knockId: entityId.optional() }), response: z.object({ denied: int }) },

  /**
   * Turns end-to-end encryption on or off. Turning it on is refused while a phone caller, a recorder
   * or a browser that cannot encrypt is in the meeting, or a recording runs; while it is on, they
   * cannot join and dial-out and recording are refused (`encrypted`).
   */
  setE2ee: { request: z.object({ enabled: z.boolean() }), response: z.object({}) },

  // End-to-end encryption (any web participant).
  /** Says whether this client now sends encrypted media (everyone sees it in peerUpdated). */
  setEncrypting: { request: z.object({ encrypting: z.boolean() }), response: z.object({}) },
  /**
   * Hands an opaque message (a public key, a wrapped media key) to one other web participant, who
   * gets `e2eeMessage`. The bridge relays it unread and keeps nothing.
   */
  sendE2eeMessage: { request: z.object({ to: entityId, payload: z.string().min(1).max(E2EE_MESSAGE_MAX_LENGTH) }), response: z.object({}) },

  /** Calls a phone number into the room through a SIP gateway. */
  dialOut: { request: z.object({ number: phoneNumberSchema }), response: z.object({ call: dialOutCallSchema }) },
  /** Stops ringing, or hangs up an answered invitation. */
  cancelDialOut: { request: z.object({ callId: entityId }), response: z.object({}) },

  /**
   * Records the meeting to a file and/or streams it to RTMP destinations
   * (a recorder worker picks the job up). `unavailable` when no recorder is.
   */
  startRecording: {
    request: z
      .object({
        file: z.boolean().default(true),
        streams: z.array(streamUrlSchema).max(5).default([]),
        layout: z.enum(['grid', 'speaker']).default('grid'),
        /** Mixed audio only, without a browser (phone-only rooms). */
        audioOnly: z.boolean().default(false),
        /** Stop by itself after this long (the recorder's own limit still applies). */
        maxDurationSeconds: maxDurationSecondsSchema.optional(),
      })
      .refine((r) => r.file || r.streams.length > 0, { message: 'ask for a file, a stream, or both', path: ['file'] })
      .refine((r) => !(r.audioOnly && r.streams.length > 0), { message: 'audio-only recordings cannot stream', path: ['streams'] }),
    response: z.object({ recording: recordingInfoSchema }),
  },
  stopRecording: { request: z.object({ recordingId: entityId }), response: z.object({}) },

  // A SIP gateway's control connection (instead of joining a room).
  /** Offers this gateway for dial-out; its socket then carries `dialOutRequested`. */
  registerGateway: {
    request: z.object({
      name: z.string().min(1).max(64),
      /** The bridge's SERVICE_SECRET. */
      secret: z.string().max(256).optional(),
      dialOut: z.boolean(),
      trunkRegistration: trunkRegistrationSchema.nullable(),
    }),
    /** The bridge's AUTH_MODE: a room's URI lets a phone caller straight in only where anyone may enter. */
    response: z.object({ authMode: authModeSchema }),
  },
  updateGateway: { request: z.object({ trunkRegistration: trunkRegistrationSchema.nullable() }), response: z.object({}) },
  /** Progress of a call the bridge asked for. */
  reportDialOut: {
    request: z.object({
      callId: entityId,
      state: dialOutStateSchema.exclude(['calling']),
      reason: z.string().max(200).optional(),
      peerId: entityId.optional(),
    }),
    response: z.object({}),
  },
} as const;

/** Methods of a gateway's control connection; everything else needs a joined peer. */
export const GATEWAY_METHODS = ['registerGateway', 'updateGateway', 'reportDialOut'] as const;
export type GatewayMethod = (typeof GATEWAY_METHODS)[number];

export type RequestMethod = keyof typeof requests;
export type RequestData<M extends RequestMethod> = z.input<(typeof requests)[M]['request']>;
export type ParsedRequestData<M extends RequestMethod> = z.output<(typeof requests)[M]['request']>;
export type ResponseData<M extends RequestMethod> = z.output<(typeof requests)[M]['response']>;

// ---------------------------------------------------------------------------
// Notifications: bridge -> client.

export const disconnectReasonSchema = z.enum(['kicked', 'roomClosed', 'meetingEnded', 'shuttingDown']);
export type DisconnectReason = z.infer<typeof disconnectReasonSchema>;

export const notifications = {
  peerJoined: z.object({ peer: peerInfoSchema }),
  peerLeft: z.object({ peerId: entityId }),
  peerUpdated: z.object({ peer: peerInfoSchema }),
  newConsumer: z.object({ consumer: consumerInfoSchema }),
  consumerClosed: z.object({ consumerId: entityId }),
  activeSpeaker: z.object({ peerId: entityId.nullable() }),
  /** Loudness of the peers currently speaking, in dBov (-127 silent .. 0 loudest). */
  audioLevels: z.object({ levels: z.array(z.object({ peerId: entityId, volume: z.number() })) }),
  chat: z.object({ message: chatMessageSchema }),
  /**
   * The room's media server was replaced (a worker died). Signaling and peer
   * identities survive; transports, producers and consumers are gone and must
   * be created again, with `iceServers`: TURN credentials fresh from now, for
   * the new transports (the join's may have expired). Absent: no TURN.
   */
  mediaRestart: z.object({ routerRtpCapabilities: rtpCapabilitiesSchema, iceServers: iceServersSchema.optional() }),
  /** A moderator paused this peer's microphone. */
  mutedByModerator: z.object({ by: z.string() }),
  /** This peer's own role changed (a promotion, or the last moderator left); `by` is who promoted, if anyone. */
  roleChanged: z.object({ role: roleSchema, by: z.string().nullable() }),
  /**
   * AUTH_MODE=secure: the join waits until a moderator is in the room (it is answered then, or refused after
   * `timeoutSeconds`). The waiting client gets nothing of the room meanwhile.
   */
  waitingForHost: z.object({ room: roomNameSchema, timeoutSeconds: int }),
  roomLocked: z.object({ locked: z.boolean(), by: z.string() }),
  /**
   * The room has a lobby and this join knocked: it waits until a moderator admits it (answered then),
   * denies it (`notAdmitted`) or `timeoutSeconds` pass (`unavailable`). Nothing of the room reaches it meanwhile.
   */
  waitingInLobby: z.object({ room: roomNameSchema, timeoutSeconds: int }),
  /** To everyone in the room: a moderator turned the lobby on or off. */
  lobbyChanged: z.object({ enabled: z.boolean(), by: z.string() }),
  /** To moderators: someone knocks (also sent, one per waiting knock, to a peer just made moderator). */
  knocking: z.object({ knock: knockSchema }),
  /** To moderators: a knock is no longer waiting, and why; `by` names the moderator who decided. */
  knockEnded: z.object({ knockId: entityId, outcome: z.enum(['admitted', 'denied', 'left', 'timedOut']), by: z.string().nullable() }),
  /** A moderator turned end-to-end encryption on or off. */
  e2eeChanged: z.object({ enabled: z.boolean(), by: z.string() }),
  /** Another participant's opaque E2EE message to this one (sendE2eeMessage). */
  e2eeMessage: z.object({ from: entityId, payload: z.string() }),
  dialOutUpdated: z.object({ call: dialOutCallSchema }),
  /** To a registered gateway: call `number` into `room` (password: the room's, if locked). */
  dialOutRequested: z.object({ callId: entityId, room: roomNameSchema, number: z.string(), password: z.string().nullable() }),
  /** Why: the inviter hung up, the room closed, or the day's dial-out minutes ran out (the callee is told so). */
  dialOutCancelled: z.object({ callId: entityId, reason: z.enum(['inviter', 'roomClosed', 'budgetSpent']) }),
  /** A recording or live stream of the room started, progressed, stopped or failed. */
  recordingUpdated: z.object({ recording: recordingInfoSchema }),
  /** The bridge is about to close this peer's socket. Do not reconnect. */
  disconnected: z.object({ reason: disconnectReasonSchema }),
} as const;

export type NotificationName = keyof typeof notifications;
export type NotificationData<N extends NotificationName> = z.output<(typeof notifications)[N]>;

/** The wire form of a notification; serialized once however many peers receive it. */
export function encodeNotification<N extends NotificationName>(name: N, data: NotificationData<N>): string {
  return JSON.stringify({ notification: name, data });
}

// ---------------------------------------------------------------------------
// Envelopes

export const errorCodeSchema = z.enum([
  'malformed', // not JSON, or not a request envelope
  'tooLarge',
  'unknownMethod',
  'invalidData', // the data does not match the method's schema
  'notJoined', // out of sequence: join first
  'alreadyJoined',
  'notFound', // no such transport, producer or consumer of this peer
  'forbidden',
  'roomFull',
  'passwordRequired', // the room is locked: join with its password
  'notAdmitted', // a moderator turned this knock away from the lobby
  'encrypted', // the meeting is end-to-end encrypted: phones, recorders and browsers that cannot encrypt stay out
  'unavailable', // nothing can serve this now (e.g. no SIP gateway for dial-out)
  'rateLimited', // too many messages or attempts: slow down (the message says when to try again)
  'unauthorized', // a join token is missing, expired, tampered or for another room (the message says which)
  'elsewhere', // the room lives on another bridge: join there (error.bridgeUrl)
  'mediaError', // mediasoup refused the parameters
  'internal',
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

export const requestEnvelopeSchema = z.object({
  id: int.min(0).max(Number.MAX_SAFE_INTEGER),
  method: z.string().max(64),
  data: z.unknown().optional(),
});

export const responseEnvelopeSchema = z.union([
  z.object({ id: int, ok: z.literal(true), data: z.unknown() }),
  z.object({
    id: int.nullable(),
    ok: z.literal(false),
    error: z.object({
      code: errorCodeSchema,
      message: z.string(),
      /** With `elsewhere`: the room's home bridge. */
      bridgeUrl: bridgeUrlSchema.optional(),
    }),
  }),
]);
export type ResponseEnvelope = z.infer<typeof responseEnvelopeSchema>;

export const notificationEnvelopeSchema = z.object({
  notification: z.string(),
  data: z.unknown(),
});

export const serverMessageSchema = z.union([responseEnvelopeSchema, notificationEnvelopeSchema]);

export function isRequestMethod(method: string): method is RequestMethod {
  return Object.hasOwn(requests, method);
}

export function isNotificationName(name: string): name is NotificationName {
  return Object.hasOwn(notifications, name);
}

/** One line naming each problem, for error replies. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
