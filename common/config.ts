// Setting types and parsing shared by the bridge, gateway and recorder
// configs: a bad value stops startup with a message naming the variable.
import os from 'node:os';
import { z } from 'zod';

export const port = z.coerce.number().int().min(1).max(65535);
export const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const redisUrl = z.url({ protocol: /^rediss?$/, error: 'expected redis://host:port or rediss://host:port' });
export const ip = z.union([z.ipv4(), z.ipv6()], { error: 'expected an IPv4 or IPv6 address' });
/** An address sockets of this process bind to: it must be one of this host's. */
export const localIp = ip.refine(
  (address) => Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === address)),
  'not an address of this host',
);

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Settings whose values are secrets (API_SECRET, TURN_SECRET, SIP_AUTH_PASSWORD, SIP_TLS_KEY...). */
const SECRET_SETTING = /SECRET|PASSWORD|TOKEN|KEY/;

/** A value as it may be shown: a URL's password (redis://:password@host) masked. */
function shown(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    return url.password ? url.href : value;
  } catch {
    return value;
  }
}

/** Parses env with a schema; on failure names every bad variable and its value (never a secret's). */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.output<S> {
  // An empty variable (FOO= in a compose file) means "use the default".
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const result = schema.safeParse(given);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const value = env[name];
    // What was given helps a typo, but a secret's value must not reach the log with it.
    const got = value === undefined ? '' : SECRET_SETTING.test(name) ? ' (value not shown)' : ` (got ${JSON.stringify(shown(value))})`;
    return `  ${name}: ${issue.message}${got}`;
  });
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** A specific listen address is also what peers reach; a wildcard needs a real one. */
export function defaultAnnouncedAddress(listenIp: string): string {
  if (listenIp !== '0.0.0.0' && listenIp !== '::') return listenIp;
  for (const addresses of Object.values(os.networkInterfaces())) {
    const found = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (found) return found.address;
  }
  return '127.0.0.1';
}
