// The bridge's settings, read from environment variables and validated at
// start. Defaults suit the all-in-one install; a bad value stops startup with
// a message naming the variable.
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { count, defaultAnnouncedAddress, ip, parseEnv, port, redisUrl } from '../common/config.ts';
import { JOIN_DEADLINE_MS, livenessProblem, PEER_TIMEOUT_MS, PING_INTERVAL_MS, type LivenessTimes } from '../protocol/liveness.ts';
import { bridgeTrustEnv } from '../protocol/bridgeTrust.ts';
import { bridgeUrlSchema, regionSchema, TURN_URI } from '../protocol/protocol.ts';
import { apiKeySchema, apiSecretSchema, DEFAULT_API_KEYS_FILE } from './auth/ApiCredentials.ts';
import type { DialOutPolicyConfig } from './dialOut/DialOutPolicy.ts';
import { builtInDenial, isCountryCode, parsePrefix } from './dialOut/NumberRules.ts';
import { parseHostPattern, type HostPattern } from './streaming/StreamDestinations.ts';
import { CertificateError, readCertificateFiles } from './tls/TlsIdentity.ts';

/** Phone-number prefixes (+44, +1 212), comma-separated; each must start with a country calling code. */
const prefixList = z
  .string()
  .default('')
  .transform((list, ctx) => {
    const prefixes: string[] = [];
    for (const entry of list.split(',').map((e) => e.trim()).filter(Boolean)) {
      try {
        prefixes.push(parsePrefix(entry));
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
      }
    }
    return prefixes;
  });

/** Where certificates are kept (the self-signed pair, ACME's): TLS_DIR unless set. */
export const DEFAULT_TLS_DIR = fileURLToPath(new URL('../data/tls', import.meta.url));

/** The longest a drain may wait for rooms to end (BRIDGE_DRAIN_TIMEOUT_SECONDS, the drain request's timeoutSeconds): an hour, a meeting's usual end. */
export const MAX_DRAIN_TIMEOUT_SECONDS = 3600;

const bridgeEnvObject = z.object({
  HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  HTTP_PORT: port.default(8080),
  /**
   * Plain HTTP only (behind a TLS proxy). Unset: HTTPS when a certificate is
   * given (TLS_CERT, or PUBLIC_HOSTNAME with ACME_EMAIL); the all-in-one
   * serves HTTPS always, self-signed when given none.
   */
  HTTP_ONLY: z.stringbool().optional(),
  /** HTTPS (web client, REST, /ws); HTTP_PORT then redirects here, except /healthz and requests from this host. */
  HTTPS_PORT: port.default(8443),
  /** The operator's certificate (PEM, with its chain) and key; without them a self-signed one is made. */
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  /** Where the self-signed and ACME certificates, their keys and the ACME account key are kept. */
  TLS_DIR: z.string().min(1).default(DEFAULT_TLS_DIR),
  /** The name browsers use; with ACME_EMAIL, a certificate for it is obtained over ACME (Let's Encrypt). */
  PUBLIC_HOSTNAME: z.hostname().refine((name) => name.includes('.'), 'expected a DNS name such as meet.example.com').optional(),
  ACME_EMAIL: z.email().optional(),
  ACME_DIRECTORY_URL: z.url({ protocol: /^https?$/ }).default('https://acme-v02.api.letsencrypt.org/directory'),
  /** Where the http-01 challenge is answered: the CA asks port 80. */
  ACME_HTTP_PORT: port.default(80),
  /** Address the media ports bind to. */
  MEDIA_LISTEN_IP: ip.default('0.0.0.0'),
  /**
   * Address put in ICE candidates and plain-transport answers, for NAT (as
   * JVB's public address). Default: this host's first non-internal IPv4.
   */
  MEDIA_ANNOUNCED_ADDRESS: z.string().min(1).optional(),
  // Every default media port sits below Linux's ephemeral range (32768-60999), from
  // which outgoing connections and port-0 binds draw: one could take a media port first.
  /** Worker i's WebRtcServer listens on MEDIA_PORT_BASE + i, UDP and TCP. */
  MEDIA_PORT_BASE: port.default(10000),
  /** Port range for plain RTP transports (services such as the SIP gateway). */
  MEDIA_PLAIN_PORT_MIN: port.default(11000),
  MEDIA_PLAIN_PORT_MAX: port.default(11999),
  /**
   * Where services (gateway, audio-only recorders) send plain RTP. Default:
   * the address they reached the signaling on (MEDIA_LISTEN_IP if it is not
   * a wildcard). Set it when services come through a proxy on this host.
   */
  MEDIA_PLAIN_ANNOUNCED_ADDRESS: ip.optional(),
  MEDIA_WORKERS: count(1, 128).default(os.availableParallelism()),
  /**
   * Consumers a media worker carries before a room on it places new receivers
   * on a router of its own on another worker (its producers are piped there).
   */
  MEDIA_WORKER_SPREAD_CONSUMERS: count(1, 1_000_000).default(500),
  ROOM_MAX_PEERS: count(2, 1000).default(100),
  /** Length of the numeric PIN phone callers enter to reach a room. */
  ROOM_PIN_DIGITS: count(6, 9).default(6),
  /** Phone numbers that reach the IVR, shown to participants with the room's PIN (comma-separated). */
  DIAL_IN_NUMBERS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((n) => n.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^\+?[0-9 ()-]{3,32}$/, 'expected phone numbers such as +1 555 0100, comma-separated'))),
  /** Numbers invited without a leading + are read as this country's (ISO 3166 code, e.g. US, GB). Unset: they are refused. */
  DIAL_OUT_DEFAULT_COUNTRY: z
    .string()
    .transform((code) => code.toUpperCase())
    .refine(isCountryCode, 'expected a two-letter country code such as US or GB')
    .optional(),
  /** The only numbers dial-out may call, by E.164 prefix (e.g. +44,+1 212). Unset: dial-out is refused (no allow-all default). */
  DIAL_OUT_ALLOWED_PREFIXES: prefixList,
  /** Prefixes refused even where allowed, on top of the built-in deny list (satellite, shared-cost, premium network codes). */
  DIAL_OUT_DENIED_PREFIXES: prefixList,
  /** Dial-out calls under way at once (ringing or answered). */
  DIAL_OUT_MAX_CALLS_PER_ROOM: count(1, 1000).default(5),
  DIAL_OUT_MAX_CALLS_PER_INVITER: count(1, 1000).default(3),
  DIAL_OUT_MAX_CALLS: count(1, 10_000).default(20),
  /** Dial-out calls placed in any hour. */
  DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM: count(1, 100_000).default(30),
  DIAL_OUT_ATTEMPTS_PER_HOUR_PER_INVITER: count(1, 100_000).default(20),
  DIAL_OUT_ATTEMPTS_PER_HOUR: count(1, 1_000_000).default(200),
  /** Answered dial-out minutes per UTC day (tenths allowed), all rooms together; when they run out, calls are ended and new ones refused. */
  DIAL_OUT_DAILY_MINUTES: z.coerce.number().min(0.1).max(10_000_000).default(600),
  SIGNALING_MAX_MESSAGE_BYTES: count(1024, 1 << 20).default(64 * 1024),
  /** The bridge pings every signaling socket this often (WebSocket ping frames). */
  SIGNALING_PING_INTERVAL_MS: count(100, 600_000).default(PING_INTERVAL_MS),
  /** A peer whose socket has not answered for this long is removed from its room. */
  SIGNALING_PEER_TIMEOUT_MS: count(200, 3_600_000).default(PEER_TIMEOUT_MS),
  /** A socket that has neither joined a room nor registered as a gateway within this long is closed. */
  SIGNALING_JOIN_DEADLINE_MS: count(100, 600_000).default(JOIN_DEADLINE_MS),
  /**
   * Shared with the SIP gateway and recorders: hidden peers (service,
   * recorder) and gateway registrations must present it. Unset: services are
   * not authenticated (a warning is logged).
   */
  SERVICE_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** The operator's API key and secret (REST, and signing join tokens). Unset: made on first start in API_KEYS_FILE. */
  API_KEY: apiKeySchema.optional(),
  API_SECRET: apiSecretSchema.optional(),
  API_KEYS_FILE: z.string().min(1).default(DEFAULT_API_KEYS_FILE),
  /** A bearer token /metrics requires. Unset: /metrics is open (it tells load, not who is where). */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  /** REST requests per minute from one address. */
  REST_RATE_LIMIT_PER_MINUTE: count(1, 100_000).default(300),
  /**
   * Who may enter a room: `open` (anyone; the first in is its moderator),
   * `token` (everyone needs a join token), `secure` (moderators need a
   * token; guests enter only while a moderator is present).
   */
  AUTH_MODE: z.enum(['open', 'token', 'secure']).default('open'),
  /** AUTH_MODE=secure: how long a guest's join waits for a moderator before it is refused. */
  LOBBY_TIMEOUT_SECONDS: count(1, 24 * 3600).default(300),
  /** An identity provider's public key (PEM) whose signed join tokens are accepted too. */
  AUTH_PUBLIC_KEY_FILE: z.string().min(1).optional(),
  /** An identity provider's JWKS URL whose signed join tokens are accepted too. */
  AUTH_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The iss an identity provider puts in its tokens (checked when set). */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** Rooms this bridge hosts at most. */
  ROOMS_MAX: count(1, 100_000).default(500),
  /** Signaling sockets one source address may hold (an office behind one NAT counts once). */
  SIGNALING_MAX_SOCKETS_PER_ADDRESS: count(1, 10_000).default(50),
  /**
   * Signaling messages a socket may send per second, with bursts up to
   * SIGNALING_MESSAGE_BURST. The burst covers a browser joining a full room
   * (ROOM_MAX_PEERS): a resumeConsumer for each stream it receives and a layer
   * choice for each video tile, all at once.
   */
  SIGNALING_MESSAGES_PER_SECOND: count(1, 10_000).default(20),
  SIGNALING_MESSAGE_BURST: count(1, 10_000).default(500),
  /**
   * Web origins whose pages may open the signaling WebSocket (comma-separated,
   * e.g. https://meet.example.com). Unset: the server's own origin only.
   * Clients that send no Origin (services, not browsers) are not affected.
   */
  ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'expected origins such as https://meet.example.com, comma-separated' }))),
  /**
   * Reverse proxies in front of the bridge (addresses or CIDR ranges,
   * comma-separated), whose X-Forwarded-For and X-Forwarded-Proto are
   * believed. Unset: nobody's; behind a proxy every browser then shares the
   * proxy's address for the per-address limits.
   */
  TRUST_PROXY: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((entry) => entry.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine((entry) => ipaddr.isValid(entry) || isCidr(entry), { error: 'expected addresses or CIDR ranges, comma-separated' }))),
  /**
   * Where meetings may be streamed besides public addresses: host names,
   * *.domains, addresses or CIDR ranges (comma-separated). Loopback, private,
   * link-local and metadata addresses are refused unless listed here.
   */
  STREAM_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((list, ctx) => {
      const patterns: HostPattern[] = [];
      for (const entry of list.split(',').map((e) => e.trim()).filter(Boolean)) {
        try {
          patterns.push(parseHostPattern(entry));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      }
      return patterns;
    }),
  /**
   * TURN servers for clients whose network lets nothing else through
   * (comma-separated turn: and turns: URIs, e.g.
   * turns:turn.example.com:443?transport=tcp). Needs TURN_SECRET. Unset: none.
   */
  TURN_URLS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((u) => u.trim()).filter(Boolean))
    // The join response carries at most 16 URIs of at most 300 characters (protocol.ts): more would fail every join.
    .pipe(
      z
        .array(z.string().max(300).regex(TURN_URI, 'expected turn: or turns: URIs such as turns:turn.example.com:443?transport=tcp, comma-separated'))
        .max(16, 'at most 16 TURN URIs'),
    ),
  /**
   * coturn's static-auth-secret (use-auth-secret): each joined client gets
   * credentials made from it. Its length is checked in the refinement below.
   */
  TURN_SECRET: z.string().optional(),
  /** How long a client's TURN credentials are valid (coturn refuses them afterwards; a rejoin gets fresh ones). */
  TURN_CREDENTIAL_TTL_SECONDS: count(60, 24 * 3600).default(3600),
  /**
   * Where recordings are queued (BullMQ), and the room directory of every
   * bridge sharing it (several bridges: rooms placed by load, clients sent to
   * their room's bridge). Unset: recording is off, and this bridge is alone.
   */
  REDIS_URL: redisUrl.optional(),
  /** This bridge's name in the room directory. Unset: the host name with a random suffix. */
  BRIDGE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ., - and _ only (1 to 64)').optional(),
  /**
   * Where clients that reached another bridge are sent to join this one's
   * rooms, and where REST for its rooms is forwarded (e.g.
   * https://bridge2.example.com). Unset: the address the bridge says to open
   * at start (PUBLIC_HOSTNAME or MEDIA_ANNOUNCED_ADDRESS, with its port).
   */
  // An origin only: clients sent here keep their own path (the room's), and a path would be dropped unseen.
  BRIDGE_PUBLIC_URL: bridgeUrlSchema.refine((url) => /^https?:\/\/[^/?#]+\/?$/.test(url), 'expected an origin only (scheme, host and port), without a path').optional(),
  /** Peers this bridge takes before the directory places new rooms elsewhere (it gets none when full). */
  BRIDGE_CAPACITY: count(1, 1_000_000).default(1000),
  /**
   * Where this bridge is (a label: eu-west, b), published in the room directory. A join whose region
   * hint names it is served here, linked to the room's home bridge, when the home is in another region.
   */
  BRIDGE_REGION: regionSchema.optional(),
  /**
   * The other bridges' certificates (cascade links, REST forwarded to a room's bridge), as the
   * gateway and recorders check the bridge's: BRIDGE_CA_FILE, a PEM file of the deployment's CA
   * trusted beside the system's; BRIDGE_TLS_INSECURE, no check at all.
   */
  ...bridgeTrustEnv,
  /** How often the bridge refreshes its directory records; they expire after three missed heartbeats. */
  BRIDGE_HEARTBEAT_MS: count(200, 60_000).default(2000),
  /**
   * How long a draining bridge (SIGTERM, POST /api/bridge/drain) waits for its
   * rooms to end before closing them. The default fits within systemd's
   * stop timeout (90 s) and compose's stop_grace_period for the bridge (75 s).
   */
  BRIDGE_DRAIN_TIMEOUT_SECONDS: count(0, MAX_DRAIN_TIMEOUT_SECONDS).default(60),
  /** Where recorders write `<room>/<timestamp>.mp4` and its metadata; the bridge lists and serves them. */
  RECORDINGS_DIR: z.string().min(1).default(fileURLToPath(new URL('../recordings', import.meta.url))),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WEB_DIST_DIR: z.string().min(1).default(fileURLToPath(new URL('../web/dist', import.meta.url))),
});


export const bridgeEnvSchema = bridgeEnvObject
  .superRefine((env, ctx) => {
    checkTls(env, (path, message) => ctx.addIssue({ code: 'custom', path: [path], message }));
    const livenessIssue = livenessProblem(signalingLiveness(env));
    if (livenessIssue) ctx.addIssue({ code: 'custom', path: ['SIGNALING_PEER_TIMEOUT_MS'], message: livenessIssue });
    if (!!env.API_KEY !== !!env.API_SECRET) {
      ctx.addIssue({ code: 'custom', path: [env.API_KEY ? 'API_SECRET' : 'API_KEY'], message: 'set both API_KEY and API_SECRET, or neither' });
    }
    if (env.AUTH_PUBLIC_KEY_FILE && env.AUTH_JWKS_URL) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_JWKS_URL'], message: 'set AUTH_PUBLIC_KEY_FILE or AUTH_JWKS_URL, not both' });
    }
    for (const prefix of env.DIAL_OUT_ALLOWED_PREFIXES) {
      const denied = builtInDenial(prefix);
      if (denied) {
        ctx.addIssue({ code: 'custom', path: ['DIAL_OUT_ALLOWED_PREFIXES'], message: `${prefix} is ${denied.what}, on the built-in deny list: it cannot be allowed` });
      }
    }
    checkTurn(env, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    if (env.MEDIA_PLAIN_PORT_MIN > env.MEDIA_PLAIN_PORT_MAX) {
      ctx.addIssue({ code: 'custom', path: ['MEDIA_PLAIN_PORT_MIN'], message: 'must not exceed MEDIA_PLAIN_PORT_MAX' });
    }
    const lastWebRtcPort = env.MEDIA_PORT_BASE + env.MEDIA_WORKERS - 1;
    if (lastWebRtcPort > 65535) {
      ctx.addIssue({ code: 'custom', path: ['MEDIA_PORT_BASE'], message: `MEDIA_PORT_BASE + MEDIA_WORKERS exceeds 65535` });
    }
    if (env.MEDIA_PORT_BASE <= env.MEDIA_PLAIN_PORT_MAX && lastWebRtcPort >= env.MEDIA_PLAIN_PORT_MIN) {
      ctx.addIssue({
        code: 'custom',
        path: ['MEDIA_PORT_BASE'],
        message: 'the WebRTC ports overlap MEDIA_PLAIN_PORT_MIN..MEDIA_PLAIN_PORT_MAX',
      });
    }
  });

type BridgeEnv = z.output<typeof bridgeEnvObject>;

function signalingLiveness(env: BridgeEnv): LivenessTimes {
  return { pingIntervalMs: env.SIGNALING_PING_INTERVAL_MS, timeoutMs: env.SIGNALING_PEER_TIMEOUT_MS };
}

/** Certificate settings that contradict each other, and a TLS_CERT/TLS_KEY pair that is missing or does not match. */
function checkTls(env: BridgeEnv, issue: (variable: string, message: string) => void): void {
  if (!!env.TLS_CERT !== !!env.TLS_KEY) issue(env.TLS_CERT ? 'TLS_KEY' : 'TLS_CERT', 'set both TLS_CERT and TLS_KEY, or neither');
  if (env.ACME_EMAIL && !env.PUBLIC_HOSTNAME) issue('ACME_EMAIL', 'ACME needs PUBLIC_HOSTNAME, the name to get a certificate for');
  if (env.ACME_EMAIL && env.TLS_CERT) issue('TLS_CERT', 'choose TLS_CERT/TLS_KEY or ACME (ACME_EMAIL), not both');
  if (env.HTTP_ONLY && (env.TLS_CERT || env.ACME_EMAIL)) issue('HTTP_ONLY', 'plain HTTP only, yet a certificate is configured (TLS_CERT or ACME_EMAIL)');
  if (env.HTTPS_PORT === env.HTTP_PORT) issue('HTTPS_PORT', 'must differ from HTTP_PORT');
  if (env.TLS_CERT && env.TLS_KEY) {
    try {
      readCertificateFiles(env.TLS_CERT, env.TLS_KEY);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      issue(error.part === 'cert' ? 'TLS_CERT' : 'TLS_KEY', error.message);
    }
  }
}

/** TURN_URLS and TURN_SECRET go together. */
function checkTurn(env: BridgeEnv, issue: (path: string[], message: string) => void): void {
  if (env.TURN_URLS.length > 0 && env.TURN_SECRET === undefined) issue(['TURN_SECRET'], 'required when TURN_URLS is set (coturn\'s static-auth-secret)');
  if (env.TURN_SECRET !== undefined && env.TURN_URLS.length === 0) issue(['TURN_URLS'], 'TURN_SECRET is set, but no TURN server to use it with');
  if (env.TURN_SECRET !== undefined && env.TURN_SECRET.length < 16) issue(['TURN_SECRET'], 'at least 16 characters');
}

export type BridgeConfig = ReturnType<typeof loadBridgeConfig>;

export function loadBridgeConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(bridgeEnvSchema, env);
  const announcedAddress = e.MEDIA_ANNOUNCED_ADDRESS ?? defaultAnnouncedAddress(e.MEDIA_LISTEN_IP);
  const https = !(e.HTTP_ONLY ?? !(e.TLS_CERT || e.ACME_EMAIL));
  return {
    http: { host: e.HTTP_HOST, port: e.HTTP_PORT },
    /** Unset: plain HTTP only. */
    tls: !https
      ? undefined
      : {
          port: e.HTTPS_PORT,
          dir: path.resolve(e.TLS_DIR),
          files: e.TLS_CERT && e.TLS_KEY ? { cert: path.resolve(e.TLS_CERT), key: path.resolve(e.TLS_KEY) } : undefined,
          publicHostname: e.PUBLIC_HOSTNAME,
          acme:
            e.PUBLIC_HOSTNAME && e.ACME_EMAIL
              ? { hostname: e.PUBLIC_HOSTNAME, email: e.ACME_EMAIL, directoryUrl: e.ACME_DIRECTORY_URL, httpPort: e.ACME_HTTP_PORT }
              : undefined,
        },
    media: {
      listenIp: e.MEDIA_LISTEN_IP,
      announcedAddress,
      portBase: e.MEDIA_PORT_BASE,
      plainPortRange: { min: e.MEDIA_PLAIN_PORT_MIN, max: e.MEDIA_PLAIN_PORT_MAX },
      plainAnnouncedAddress: e.MEDIA_PLAIN_ANNOUNCED_ADDRESS,
      workers: e.MEDIA_WORKERS,
      spreadConsumers: e.MEDIA_WORKER_SPREAD_CONSUMERS,
    },
    rooms: { maxPeers: e.ROOM_MAX_PEERS, pinDigits: e.ROOM_PIN_DIGITS },
    dialInNumbers: e.DIAL_IN_NUMBERS,
    dialOut: {
      numbers: { defaultCountry: e.DIAL_OUT_DEFAULT_COUNTRY, allowedPrefixes: e.DIAL_OUT_ALLOWED_PREFIXES, deniedPrefixes: e.DIAL_OUT_DENIED_PREFIXES },
      limits: {
        callsPerRoom: e.DIAL_OUT_MAX_CALLS_PER_ROOM,
        callsPerInviter: e.DIAL_OUT_MAX_CALLS_PER_INVITER,
        calls: e.DIAL_OUT_MAX_CALLS,
        attemptsPerHourPerRoom: e.DIAL_OUT_ATTEMPTS_PER_HOUR_PER_ROOM,
        attemptsPerHourPerInviter: e.DIAL_OUT_ATTEMPTS_PER_HOUR_PER_INVITER,
        attemptsPerHour: e.DIAL_OUT_ATTEMPTS_PER_HOUR,
      },
      dailyMinutes: e.DIAL_OUT_DAILY_MINUTES,
    } satisfies DialOutPolicyConfig,
    signaling: { maxMessageBytes: e.SIGNALING_MAX_MESSAGE_BYTES, liveness: signalingLiveness(e), joinDeadlineMs: e.SIGNALING_JOIN_DEADLINE_MS },
    serviceSecret: e.SERVICE_SECRET,
    api: { key: e.API_KEY, secret: e.API_SECRET, file: path.resolve(e.API_KEYS_FILE), restPerMinute: e.REST_RATE_LIMIT_PER_MINUTE },
    metricsToken: e.METRICS_TOKEN,
    auth: { mode: e.AUTH_MODE, lobbyTimeoutSeconds: e.LOBBY_TIMEOUT_SECONDS, provider: { publicKeyFile: e.AUTH_PUBLIC_KEY_FILE, jwksUrl: e.AUTH_JWKS_URL, issuer: e.AUTH_ISSUER } },
    limits: {
      rooms: e.ROOMS_MAX,
      socketsPerAddress: e.SIGNALING_MAX_SOCKETS_PER_ADDRESS,
      messagesPerSecond: e.SIGNALING_MESSAGES_PER_SECOND,
      messageBurst: e.SIGNALING_MESSAGE_BURST,
    },
    allowedOrigins: e.ALLOWED_ORIGINS,
    trustedProxies: e.TRUST_PROXY,
    streamAllowedHosts: e.STREAM_ALLOWED_HOSTS,
    /** Unset: clients get no TURN servers. */
    turn: e.TURN_SECRET && e.TURN_URLS.length > 0 ? { urls: e.TURN_URLS, secret: e.TURN_SECRET, ttlSeconds: e.TURN_CREDENTIAL_TTL_SECONDS } : undefined,
    recording: { redisUrl: e.REDIS_URL, dir: path.resolve(e.RECORDINGS_DIR) },
    /** Where people open this bridge (and other bridges send its rooms' clients), without a trailing slash. */
    publicUrl: (e.BRIDGE_PUBLIC_URL ?? ownUrl(https, e.PUBLIC_HOSTNAME ?? announcedAddress, https ? e.HTTPS_PORT : e.HTTP_PORT)).replace(/\/+$/, ''),
    /** Unset (no REDIS_URL): this bridge is alone and hosts every room it is asked for. */
    directory: e.REDIS_URL
      ? {
          redisUrl: e.REDIS_URL,
          id: e.BRIDGE_ID ?? `${os.hostname().replace(/[^A-Za-z0-9.-]/g, '').slice(0, 48) || 'bridge'}-${crypto.randomBytes(4).toString('hex')}`,
          capacity: e.BRIDGE_CAPACITY,
          region: e.BRIDGE_REGION,
          heartbeatMs: e.BRIDGE_HEARTBEAT_MS,
        }
      : undefined,
    /** How this bridge checks the other bridges' certificates. */
    bridgeTrust: { caFile: e.BRIDGE_CA_FILE, insecure: e.BRIDGE_TLS_INSECURE },
    drainTimeoutSeconds: e.BRIDGE_DRAIN_TIMEOUT_SECONDS,
    logLevel: e.LOG_LEVEL,
    webDistDir: path.resolve(e.WEB_DIST_DIR),
  };
}

/** The URL a browser opens this bridge at: default ports left out, IPv6 addresses in brackets. */
function ownUrl(https: boolean, host: string, port: number): string {
  const url = new URL(`${https ? 'https' : 'http'}://localhost`);
  url.hostname = ipaddr.IPv6.isValid(host) ? `[${host}]` : host;
  url.port = String(port);
  return url.origin;
}

function isCidr(text: string): boolean {
  try {
    ipaddr.parseCIDR(text);
    return true;
  } catch {
    return false;
  }
}
