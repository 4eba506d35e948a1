// The SIP gateway's settings, from environment variables, validated at start
// (a bad value stops startup with a message naming the variable). Defaults
// suit the all-in-one install: bridge on this host, embedded SIP engine.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { z } from 'zod';
import { bridgeTrustEnv } from '../protocol/bridgeTrust.ts';
import { count, defaultAnnouncedAddress, ip, localIp, parseEnv, port, redisUrl } from '../common/config.ts';
import { regionSchema, roomNameSchema } from '../protocol/protocol.ts';
import type { CodecName } from '../media/codecs.ts';

const seconds = (max: number) => z.coerce.number().min(0.1).max(max);
const list = (item: z.ZodType<string, string>) =>
  z
    .string()
    .transform((value) => value.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(item));
const cidr = z.string().refine((value) => parseCidr(value) !== null, 'expected an address or CIDR such as 10.0.0.0/8');
const codec = z.enum(['PCMU', 'PCMA', 'opus']);

export const gatewayEnvSchema = z
  .object({
    /** The bridge's HTTP address; signaling is at /ws below it. */
    BRIDGE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    ...bridgeTrustEnv,
    /**
     * The region this gateway's callers are in (a BRIDGE_REGION of the deployment): its joins say so,
     * and a bridge of that region serves them a meeting homed elsewhere, as it does a browser's ?region=.
     */
    GATEWAY_REGION: regionSchema.optional(),
    /** Where phones and trunks reach us (UDP and TCP). */
    SIP_HOST: ip.default('0.0.0.0'),
    SIP_PORT: port.default(5060),
    /** The address put in Contact and Via for the embedded engine (NAT). Default: this host's first IPv4. */
    SIP_PUBLIC_ADDRESS: z.string().min(1).optional(),
    /**
     * SIP over TLS in the embedded engine, with this certificate (PEM, chain first) and key; unset,
     * no TLS listener (the all-in-one makes a self-signed pair). A drachtio-server does its own TLS.
     */
    SIP_TLS_CERT: z.string().min(1).optional(),
    SIP_TLS_KEY: z.string().min(1).optional(),
    SIP_TLS_PORT: port.default(5061),
    /** A CA (PEM) trusted for trunks reached over TLS, besides the system's. */
    SIP_TLS_CA: z.string().min(1).optional(),
    /**
     * SRTP (SDES, AES_CM_128_HMAC_SHA1_80) for phone legs: `optional` answers RTP/SAVP offers with
     * SRTP and offers it on dial-out over a TLS trunk; `required` also refuses plain RTP (488) and
     * offers SRTP on every dial-out.
     */
    SIP_SRTP: z.enum(['optional', 'required']).default('optional'),
    /** Set to use a separate drachtio-server instead of the embedded engine. */
    DRACHTIO_HOST: z.string().min(1).optional(),
    DRACHTIO_PORT: port.default(9022),
    DRACHTIO_SECRET: z.string().min(1).default('cymru'),
    /** Phone-facing RTP: bind address, address put in SDP, even/odd port pairs. */
    RTP_HOST: ip.default('0.0.0.0'),
    RTP_PUBLIC_ADDRESS: z.string().min(1).optional(),
    // Below Linux's ephemeral range (32768-60999), as the bridge's media ports.
    RTP_PORT_MIN: port.default(12000),
    RTP_PORT_MAX: port.default(13999),
    /**
     * The address of this host that the bridge sends room audio to and our
     * bridge-facing sockets bind to. Default: the one this host reaches the bridge's media from.
     */
    GATEWAY_MEDIA_ADDRESS: localIp.optional(),
    SIP_CODECS: list(codec).default(['PCMU', 'PCMA', 'opus']),
    /**
     * Who may call in without credentials: to the PIN prompt, or a room that lets
     * anyone in by its URI. The private ranges let a LAN softphone call at once
     * (the quick start); they skip no PIN (only SIP_TRUNK_SOURCES do).
     */
    SIP_ALLOWED_SOURCES: list(cidr).default(['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '::1/128']),
    /** Trusted trunks and PBXs: may call in without credentials and route by X-Room or SIP_DID_ROOMS, skipping the PIN. */
    SIP_TRUNK_SOURCES: list(cidr).default(['127.0.0.0/8', '::1/128']),
    /** Digest credentials for callers in neither SIP_ALLOWED_SOURCES nor SIP_TRUNK_SOURCES (both or neither). */
    SIP_AUTH_USERNAME: z.string().min(1).optional(),
    SIP_AUTH_PASSWORD: z.string().min(1).optional(),
    SIP_AUTH_REALM: z.string().min(1).default('telebridge'),
    /** How long a digest challenge's nonce may be answered; later answers get a fresh one (stale=true). */
    SIP_AUTH_NONCE_TTL_SECONDS: count(5, 3600).default(300),
    /** Numbers that lead a trunk's caller straight into a room: 15550100=standup,15550101=sales */
    SIP_DID_ROOMS: list(
      z.string().regex(/^\+?[0-9]{3,32}=[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'expected NUMBER=room pairs such as 15550100=standup'),
    ).default([]),
    /** Show callers as +1 555 ••• 0123 rather than in full. */
    CALLER_ID_MASK: z.stringbool().default(false),
    MAX_CALLS: count(1, 10_000).default(500),
    MAX_CALLS_PER_ROOM: count(1, 1000).default(100),
    MAX_CALL_SECONDS: seconds(7 * 24 * 3600).default(4 * 3600),
    /** A caller who sends no RTP this long (and is not on hold) has gone: hang up. */
    RTP_TIMEOUT_SECONDS: seconds(3600).default(30),
    IVR_DIGIT_TIMEOUT_SECONDS: seconds(600).default(10),
    IVR_MAX_ATTEMPTS: count(1, 10).default(3),
    PROMPTS_DIR: z.string().min(1).default(path.resolve('.cache/prompts')),
    /** Dial-out: where calls to phone numbers go (a SIP trunk), and how we authenticate. */
    SIP_TRUNK_URI: z.string().regex(/^sips?:/, 'expected a SIP URI such as sip:trunk.example.com').optional(),
    SIP_TRUNK_USERNAME: z.string().min(1).optional(),
    SIP_TRUNK_PASSWORD: z.string().min(1).optional(),
    /** The number callees see. */
    SIP_CALLER_ID: z.string().regex(/^\+?[0-9]{3,32}$/).default('anonymous'),
    DIAL_OUT_RING_SECONDS: seconds(300).default(45),
    /** Keep a registration with the trunk (some providers deliver calls only to a registered contact). */
    SIP_REGISTER: z.stringbool().default(false),
    SIP_REGISTER_EXPIRES: count(60, 86_400).default(600),
    /** The bridge's SERVICE_SECRET, if it has one. */
    SERVICE_SECRET: z.string().min(1).optional(),
    /** Flood control: new requests per second from one address (bursts of two seconds' worth); more get 503 with Retry-After. */
    SIP_INVITES_PER_SECOND_PER_SOURCE: count(1, 10_000).default(5),
    SIP_REGISTERS_PER_SECOND_PER_SOURCE: count(1, 10_000).default(5),
    SIP_OPTIONS_PER_SECOND_PER_SOURCE: count(1, 10_000).default(2),
    /** Addresses the rate limits and the block list each track at once (least recently seen dropped first). */
    SIP_EDGE_MAX_SOURCES: count(100, 1_000_000).default(10_000),
    /** A source failing auth, PINs or room passwords this often within the window is blocked (403) for SIP_BLOCK_SECONDS. */
    SIP_BLOCK_AFTER_FAILURES: count(1, 1000).default(10),
    SIP_BLOCK_WINDOW_SECONDS: count(1, 86_400).default(600),
    SIP_BLOCK_SECONDS: count(1, 7 * 86_400).default(3600),
    /** TCP: connections at once per address, and how long one may go without completing a message. */
    SIP_TCP_CONNECTIONS_PER_SOURCE: count(1, 10_000).default(20),
    SIP_TCP_IDLE_SECONDS: seconds(60).default(60),
    /** Shares the SIP block list with the other gateways on this Redis. */
    REDIS_URL: redisUrl.optional(),
    /** Prometheus metrics at http://GATEWAY_METRICS_HOST:GATEWAY_METRICS_PORT/metrics; unset, none are served. */
    GATEWAY_METRICS_PORT: port.optional(),
    GATEWAY_METRICS_HOST: ip.default('127.0.0.1'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.RTP_PORT_MAX - env.RTP_PORT_MIN < 3) {
      ctx.addIssue({ code: 'custom', path: ['RTP_PORT_MIN'], message: 'RTP_PORT_MIN..RTP_PORT_MAX must hold at least two port pairs' });
    }
    if (!!env.SIP_TLS_CERT !== !!env.SIP_TLS_KEY) {
      ctx.addIssue({ code: 'custom', path: [env.SIP_TLS_CERT ? 'SIP_TLS_KEY' : 'SIP_TLS_CERT'], message: 'set both SIP_TLS_CERT and SIP_TLS_KEY, or neither' });
    } else if (env.SIP_TLS_CERT && env.SIP_TLS_KEY) {
      const problem = tlsPairProblem(env.SIP_TLS_CERT, env.SIP_TLS_KEY);
      if (problem) ctx.addIssue({ code: 'custom', path: [problem.setting], message: problem.message });
    }
    if (env.SIP_TLS_CA) {
      const problem = readProblem(env.SIP_TLS_CA);
      if (problem) ctx.addIssue({ code: 'custom', path: ['SIP_TLS_CA'], message: problem });
    }
    if (!!env.SIP_AUTH_USERNAME !== !!env.SIP_AUTH_PASSWORD) {
      ctx.addIssue({ code: 'custom', path: ['SIP_AUTH_PASSWORD'], message: 'set both SIP_AUTH_USERNAME and SIP_AUTH_PASSWORD, or neither' });
    }
    if (env.SIP_REGISTER && !(env.SIP_TRUNK_URI && env.SIP_TRUNK_USERNAME && env.SIP_TRUNK_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: ['SIP_REGISTER'],
        message: 'registering needs SIP_TRUNK_URI, SIP_TRUNK_USERNAME and SIP_TRUNK_PASSWORD',
      });
    }
  });

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(gatewayEnvSchema, env);
  const bridge = new URL(e.BRIDGE_URL);
  return {
    bridge: {
      httpUrl: bridge.origin,
      signalingUrl: `${bridge.protocol === 'https:' ? 'wss' : 'ws'}://${bridge.host}/ws`,
      serviceSecret: e.SERVICE_SECRET,
      trust: { caFile: e.BRIDGE_CA_FILE, insecure: e.BRIDGE_TLS_INSECURE },
      region: e.GATEWAY_REGION,
    },
    sip: {
      host: e.SIP_HOST,
      port: e.SIP_PORT,
      publicAddress: e.SIP_PUBLIC_ADDRESS ?? defaultAnnouncedAddress(e.SIP_HOST),
      tls: {
        listen: e.SIP_TLS_CERT && e.SIP_TLS_KEY ? { port: e.SIP_TLS_PORT, cert: path.resolve(e.SIP_TLS_CERT), key: path.resolve(e.SIP_TLS_KEY) } : undefined,
        ca: e.SIP_TLS_CA && path.resolve(e.SIP_TLS_CA),
      },
    },
    srtp: { required: e.SIP_SRTP === 'required', offer: e.SIP_SRTP === 'required' || (e.SIP_TRUNK_URI !== undefined && isTlsUri(e.SIP_TRUNK_URI)) },
    /** No host: run the embedded engine on loopback. */
    engine: { external: e.DRACHTIO_HOST !== undefined, host: e.DRACHTIO_HOST ?? '127.0.0.1', port: e.DRACHTIO_PORT, secret: e.DRACHTIO_SECRET },
    rtp: {
      host: e.RTP_HOST,
      publicAddress: e.RTP_PUBLIC_ADDRESS ?? defaultAnnouncedAddress(e.RTP_HOST),
      portMin: e.RTP_PORT_MIN,
      portMax: e.RTP_PORT_MAX,
      bridgeFacingAddress: e.GATEWAY_MEDIA_ADDRESS,
    },
    codecs: e.SIP_CODECS as CodecName[],
    inbound: {
      allowedSources: e.SIP_ALLOWED_SOURCES,
      trunkSources: e.SIP_TRUNK_SOURCES,
      auth: e.SIP_AUTH_USERNAME
        ? { username: e.SIP_AUTH_USERNAME, password: e.SIP_AUTH_PASSWORD!, realm: e.SIP_AUTH_REALM, nonceTtlSeconds: e.SIP_AUTH_NONCE_TTL_SECONDS }
        : undefined,
      didRooms: new Map(
        e.SIP_DID_ROOMS.map((pair) => {
          const [number, room] = pair.split('=') as [string, string];
          return [digitsOf(number), roomNameSchema.parse(room)];
        }),
      ),
      maskCallerId: e.CALLER_ID_MASK,
    },
    limits: {
      calls: e.MAX_CALLS,
      callsPerRoom: e.MAX_CALLS_PER_ROOM,
      callSeconds: e.MAX_CALL_SECONDS,
      rtpTimeoutSeconds: e.RTP_TIMEOUT_SECONDS,
    },
    ivr: { digitTimeoutSeconds: e.IVR_DIGIT_TIMEOUT_SECONDS, maxAttempts: e.IVR_MAX_ATTEMPTS },
    promptsDir: path.resolve(e.PROMPTS_DIR),
    trunk: {
      uri: e.SIP_TRUNK_URI,
      auth: e.SIP_TRUNK_USERNAME && e.SIP_TRUNK_PASSWORD ? { username: e.SIP_TRUNK_USERNAME, password: e.SIP_TRUNK_PASSWORD } : undefined,
      callerId: e.SIP_CALLER_ID,
      ringSeconds: e.DIAL_OUT_RING_SECONDS,
      register: e.SIP_REGISTER ? { expires: e.SIP_REGISTER_EXPIRES } : undefined,
    },
    edge: {
      perSecond: { INVITE: e.SIP_INVITES_PER_SECOND_PER_SOURCE, REGISTER: e.SIP_REGISTERS_PER_SECOND_PER_SOURCE, OPTIONS: e.SIP_OPTIONS_PER_SECOND_PER_SOURCE },
      maxSources: e.SIP_EDGE_MAX_SOURCES,
      block: { failures: e.SIP_BLOCK_AFTER_FAILURES, windowSeconds: e.SIP_BLOCK_WINDOW_SECONDS, seconds: e.SIP_BLOCK_SECONDS },
      tcp: { idleMs: e.SIP_TCP_IDLE_SECONDS * 1000, perSource: e.SIP_TCP_CONNECTIONS_PER_SOURCE },
      redisUrl: e.REDIS_URL,
    },
    metrics: e.GATEWAY_METRICS_PORT === undefined ? undefined : { host: e.GATEWAY_METRICS_HOST, port: e.GATEWAY_METRICS_PORT },
    logLevel: e.LOG_LEVEL,
  };
}

/** A SIP URI reached over TLS: `sips:`, or `transport=tls`. */
export function isTlsUri(uri: string): boolean {
  return /^sips:/i.test(uri) || /;transport=tls\b/i.test(uri);
}

function readProblem(file: string): string | undefined {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`;
  }
}

/** Why a certificate and key cannot serve TLS (unreadable, not PEM, not a pair), naming the setting at fault. */
function tlsPairProblem(certFile: string, keyFile: string): { setting: string; message: string } | undefined {
  const unreadable = readProblem(certFile);
  if (unreadable) return { setting: 'SIP_TLS_CERT', message: unreadable };
  const keyUnreadable = readProblem(keyFile);
  if (keyUnreadable) return { setting: 'SIP_TLS_KEY', message: keyUnreadable };
  try {
    tls.createSecureContext({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) });
    return undefined;
  } catch (error) {
    const message = (error as Error).message;
    // OpenSSL names the part: "key values mismatch", "no start line" for a file that is not PEM.
    return { setting: /key/i.test(message) ? 'SIP_TLS_KEY' : 'SIP_TLS_CERT', message: `not a usable certificate and key: ${message}` };
  }
}

/** A phone number reduced to its digits, for comparisons. */
export function digitsOf(number: string): string {
  return number.replace(/[^0-9]/g, '');
}

/** `10.0.0.0/8` or a bare address, as BlockList arguments. */
export function parseCidr(value: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText] = value.split('/');
  const family = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
  if (!family) return null;
  const max = family === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { address, prefix, family };
}
