// A recorder worker's settings, from environment variables, validated at
// start (a bad value stops startup with a message naming the variable).
// Defaults suit the all-in-one install: bridge and Redis on this host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { bridgeTrustEnv, pemCertificates } from '../protocol/bridgeTrust.ts';
import { count, localIp, parseEnv, port, redisUrl } from '../common/config.ts';

const seconds = (min: number, max: number) => z.coerce.number().min(min).max(max);
const executable = z.string().refine((file) => {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}, 'no executable file there');

export const recorderEnvSchema = z.object({
  REDIS_URL: redisUrl.default('redis://127.0.0.1:6379'),
  /** The bridge whose rooms this worker records (its web client draws the recorder layout). */
  BRIDGE_URL: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
  /** Presented to join rooms as the hidden recorder. */
  SERVICE_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  /** Recordings run at once by this worker (each has its own display, audio sink and browser). */
  RECORDER_CONCURRENCY: count(1, 32).default(2),
  RECORDINGS_DIR: z.string().min(1).default(fileURLToPath(new URL('../recordings', import.meta.url))),
  /** Run with the finished file's path when a recording ends (for uploads). */
  RECORDER_FINALIZE_HOOK: executable.optional(),
  RECORDER_FINALIZE_TIMEOUT_SECONDS: seconds(1, 3600).default(300),
  /** Stop when the room has had nobody in it this long. */
  RECORDER_EMPTY_TIMEOUT_SECONDS: seconds(1, 3600).default(30),
  /** Stop when nobody has sent audio or video this long (everyone muted, cameras off). */
  RECORDER_NO_MEDIA_TIMEOUT_SECONDS: seconds(5, 24 * 3600).default(300),
  /** The longest a recording may run, unless its job asks for less. */
  RECORDER_MAX_DURATION_SECONDS: seconds(5, 7 * 24 * 3600).default(6 * 3600),
  /** A worker that stops renewing its job's lock this long is presumed dead; another takes the job. */
  RECORDER_LOCK_SECONDS: seconds(2, 600).default(30),
  /** x264 preset: faster presets cost less CPU for larger files. */
  RECORDER_X264_PRESET: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium']).default('veryfast'),
  RECORDER_VIDEO_BITRATE_KBPS: count(300, 20000).default(2500),
  /**
   * Audio-only recordings: the address of this host that the bridge sends the room's RTP to
   * (default: the one this host reaches the bridge's media from), and the UDP ports used
   * (below Linux's ephemeral range, as the bridge's and the gateway's).
   */
  RECORDER_MEDIA_ADDRESS: localIp.optional(),
  RECORDER_RTP_PORT_MIN: port.default(14000),
  RECORDER_RTP_PORT_MAX: port.default(14999),
  /**
   * The CAs trusted for rtmps:// destinations (a PEM bundle), in place of the
   * system's (/etc/ssl/certs/ca-certificates.crt): for a private ingest server.
   */
  RECORDER_STREAM_CA_FILE: pemCertificates.optional(),
  ...bridgeTrustEnv,
  CHROMIUM_PATH: executable.default('/usr/bin/chromium'),
  FFMPEG_PATH: executable.default('/usr/bin/ffmpeg'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).refine((env) => env.RECORDER_RTP_PORT_MAX - env.RECORDER_RTP_PORT_MIN >= 1, {
  path: ['RECORDER_RTP_PORT_MIN'],
  message: 'RECORDER_RTP_PORT_MIN..RECORDER_RTP_PORT_MAX must hold at least one port pair',
});

export type RecorderConfig = ReturnType<typeof loadRecorderConfig>;

export function loadRecorderConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = parseEnv(recorderEnvSchema, env);
  return {
    redisUrl: e.REDIS_URL,
    bridgeUrl: e.BRIDGE_URL.replace(/\/$/, ''),
    bridgeTrust: { caFile: e.BRIDGE_CA_FILE, insecure: e.BRIDGE_TLS_INSECURE },
    serviceSecret: e.SERVICE_SECRET,
    concurrency: e.RECORDER_CONCURRENCY,
    dir: path.resolve(e.RECORDINGS_DIR),
    finalizeHook: e.RECORDER_FINALIZE_HOOK ? { command: path.resolve(e.RECORDER_FINALIZE_HOOK), timeoutMs: e.RECORDER_FINALIZE_TIMEOUT_SECONDS * 1000 } : undefined,
    stopWhen: {
      emptyMs: e.RECORDER_EMPTY_TIMEOUT_SECONDS * 1000,
      noMediaMs: e.RECORDER_NO_MEDIA_TIMEOUT_SECONDS * 1000,
      maxDurationMs: e.RECORDER_MAX_DURATION_SECONDS * 1000,
    },
    lockMs: e.RECORDER_LOCK_SECONDS * 1000,
    encoder: { preset: e.RECORDER_X264_PRESET, videoKbps: e.RECORDER_VIDEO_BITRATE_KBPS },
    media: { address: e.RECORDER_MEDIA_ADDRESS, portMin: e.RECORDER_RTP_PORT_MIN, portMax: e.RECORDER_RTP_PORT_MAX },
    chromiumPath: e.CHROMIUM_PATH,
    ffmpegPath: e.FFMPEG_PATH,
    streamCaFile: e.RECORDER_STREAM_CA_FILE,
    /** Per-job scratch space (pulse sockets, browser profiles). */
    scratchDir: os.tmpdir(),
    logLevel: e.LOG_LEVEL,
  };
}
