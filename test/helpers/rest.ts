// How tests call the bridge's REST API: as the operator, with the API key and
// secret (HTTP Basic), those of test bridges unless told otherwise.
import fs from 'node:fs';
import type { ApiCredentials } from '../../bridge/auth/ApiCredentials.ts';
import { TEST_API } from './bridge.ts';

/** The Authorization header of the operator with these credentials. */
export function operatorAuthorization(credentials: ApiCredentials = TEST_API): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${credentials.key}:${credentials.secret}`).toString('base64')}` };
}

/** fetch, as the operator. */
export function operatorFetch(url: string, init: RequestInit = {}, credentials: ApiCredentials = TEST_API): Promise<Response> {
  return fetch(url, { ...init, headers: { ...operatorAuthorization(credentials), ...(init.headers as Record<string, string> | undefined) } });
}

/** The key and secret a server made on first start (API_KEYS_FILE), as an operator reads them. */
export function readApiKeyFile(file: string): ApiCredentials {
  const { key, secret } = JSON.parse(fs.readFileSync(file, 'utf8')) as ApiCredentials;
  return { key, secret };
}
