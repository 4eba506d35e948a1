// The operator's API key and secret: what REST callers present (the pair
// itself, or a JWT signed with the secret), and what join tokens are signed
// with. Given by API_KEY and API_SECRET, or created on first start in a file
// only the server's user may read, as ssh keeps its keys.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from '../../common/config.ts';

export interface ApiCredentials {
  /** Public: names the key (the JWT issuer), may appear in logs. */
  key: string;
  /** Never logged. */
  secret: string;
}

/** Where the all-in-one keeps the pair it makes: beside its other state in data/. */
export const DEFAULT_API_KEYS_FILE = fileURLToPath(new URL('../../data/api-key.json', import.meta.url));

/** At least 256 bits for HS256 (RFC 7518 §3.2). */
export const API_SECRET_MIN_LENGTH = 32;

export const apiKeySchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'expected 8-64 letters, digits, _ or -');
export const apiSecretSchema = z.string().min(API_SECRET_MIN_LENGTH, `at least ${API_SECRET_MIN_LENGTH} characters`).max(256);
const fileSchema = z.object({ key: apiKeySchema, secret: apiSecretSchema });

/** A key file that cannot be used: a configuration problem, so startup stops naming it. */
export class ApiCredentialsError extends ConfigError {
  constructor(message: string) {
    super(message);
    this.name = 'ApiCredentialsError';
  }
}

export interface LoadedCredentials {
  credentials: ApiCredentials;
  /** Where they are kept; unset when they came from the environment. */
  file: string | undefined;
  /** Made on this start. */
  created: boolean;
}

/**
 * The configured pair, else the one in `file`, else a new one written to
 * `file` (mode 0600). A file others may read is refused rather than used:
 * whoever reads it is the operator.
 */
export function loadApiCredentials(given: { key?: string; secret?: string; file: string; create?: boolean }): LoadedCredentials {
  if (given.key && given.secret) return { credentials: { key: given.key, secret: given.secret }, file: undefined, created: false };
  const file = path.resolve(given.file);
  let text: string;
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new ApiCredentialsError(`API_KEYS_FILE ${file} may be read by other users (mode ${mode.toString(8)}): run chmod 600 on it`);
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    if (given.create === false) throw new ApiCredentialsError(`no API key in ${file}: start the server once to make one, or set API_KEY and API_SECRET`);
    return { credentials: create(file), file, created: true };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ApiCredentialsError(`API_KEYS_FILE ${file} is not JSON; delete it to have a new key made`);
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) throw new ApiCredentialsError(`API_KEYS_FILE ${file} needs {"key", "secret"}: ${result.error.issues[0]?.message}`);
  return { credentials: result.data, file, created: false };
}

function create(file: string): ApiCredentials {
  const credentials = {
    key: `TB${crypto.randomBytes(9).toString('base64url')}`,
    secret: crypto.randomBytes(32).toString('base64url'),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite a key another process wrote meanwhile.
  fs.writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return credentials;
}
