import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiCredentialsError, loadApiCredentials } from '../../bridge/auth/ApiCredentials.ts';
import { mayCall, RestAuth, Unauthenticated } from '../../bridge/auth/RestAuth.ts';
import { TOKEN_AUDIENCE } from '../../protocol/accessTokens.ts';
import { SERVICE_USER } from '../../protocol/serviceAuth.ts';

const credentials = { key: 'TBtestkey01', secret: 'a'.repeat(43) };
const serviceSecret = 's'.repeat(32);
const auth = new RestAuth(credentials, serviceSecret);
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const jwt = (options: { secret?: string; issuer?: string; audience?: string; expiresIn?: string | number; notBefore?: string; claims?: Record<string, unknown> } = {}) =>
  new SignJWT(options.claims ?? {})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer ?? credentials.key)
    .setAudience(options.audience ?? TOKEN_AUDIENCE.api)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .setNotBefore(options.notBefore ?? '0s')
    .sign(new TextEncoder().encode(options.secret ?? credentials.secret));

const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: unknown) => (error instanceof Unauthenticated ? error.message : `other: ${String(error)}`));

describe('REST callers', () => {
  it('knows the operator by key and secret or by a JWT signed with the secret', async () => {
    expect(await auth.authenticate(basic(credentials.key, credentials.secret))).toEqual({ kind: 'operator' });
    expect(await auth.authenticate(`Bearer ${await jwt()}`)).toEqual({ kind: 'operator' });
  });

  it('knows services by SERVICE_SECRET and members by the token the bridge gave them', async () => {
    expect(await auth.authenticate(basic(SERVICE_USER, serviceSecret))).toEqual({ kind: 'service' });
    const member = await auth.memberToken('standup', 'peer1');
    expect(await auth.authenticate(`Bearer ${member}`)).toEqual({ kind: 'member', room: 'standup', peerId: 'peer1' });
    expect(await auth.authenticate(undefined, member)).toEqual({ kind: 'member', room: 'standup', peerId: 'peer1' });
  });

  it('refuses each bad credential saying why', async () => {
    expect(await refusal(auth.authenticate(undefined))).toMatch(/credentials required/);
    expect(await refusal(auth.authenticate(basic(credentials.key, 'wrong')))).toBe('wrong API key or secret');
    expect(await refusal(auth.authenticate(basic('other', credentials.secret)))).toBe('wrong API key or secret');
    expect(await refusal(auth.authenticate(basic(SERVICE_USER, 'wrong')))).toBe('wrong API key or secret');
    expect(await refusal(auth.authenticate(`Bearer ${await jwt({ expiresIn: Math.floor(Date.now() / 1000) - 10 })}`))).toBe('token expired');
    expect(await refusal(auth.authenticate(`Bearer ${await jwt({ notBefore: '10m' })}`))).toBe('token not valid yet');
    expect(await refusal(auth.authenticate(`Bearer ${await jwt({ secret: 'b'.repeat(43) })}`))).toBe('token signature is invalid');
    expect(await refusal(auth.authenticate(`Bearer ${await jwt({ issuer: 'someone' })}`))).toBe('token issuer is not trusted');
    expect(await refusal(auth.authenticate(`Bearer ${await jwt({ audience: 'telebridge:join' })}`))).toBe('token is not for this use');
    expect(await refusal(auth.authenticate('Bearer not.a.jwt'))).toBe('malformed token');
    expect(await refusal(auth.authenticate('Digest abc'))).toMatch(/unsupported Authorization scheme/);
    const tampered = (await jwt()).split('.');
    tampered[1] = Buffer.from(JSON.stringify({ iss: credentials.key, aud: TOKEN_AUDIENCE.api, exp: 9e9 })).toString('base64url');
    expect(await refusal(auth.authenticate(`Bearer ${tampered.join('.')}`))).toBe('token signature is invalid');
  });

  it('does not take a member token as the operator, nor an operator token from the query', async () => {
    const member = await auth.memberToken('standup', 'peer1');
    expect(await auth.authenticate(`Bearer ${member}`)).not.toEqual({ kind: 'operator' });
    expect(await refusal(auth.authenticate(undefined, await jwt()))).toBe('token is not for this use');
  });

  it('refuses services when the bridge has no SERVICE_SECRET', async () => {
    const noSecret = new RestAuth(credentials, undefined);
    expect(await refusal(noSecret.authenticate(basic(SERVICE_USER, '')))).toBe('wrong API key or secret');
  });

  it('grants each kind of caller only its permissions', () => {
    expect(mayCall({ kind: 'operator' }, 'rooms:close', 'a')).toBe(true);
    expect(mayCall({ kind: 'service' }, 'dialIn:resolve', undefined)).toBe(true);
    expect(mayCall({ kind: 'service' }, 'rooms:read', 'a')).toBe(true);
    expect(mayCall({ kind: 'service' }, 'rooms:list', undefined)).toBe(false);
    expect(mayCall({ kind: 'service' }, 'recordings:start', 'a')).toBe(false);
    const member = { kind: 'member', room: 'a', peerId: 'p' } as const;
    expect(mayCall(member, 'recordings:download', 'a')).toBe(true);
    expect(mayCall(member, 'recordings:download', 'b')).toBe(false);
    expect(mayCall(member, 'recordings:start', 'a')).toBe(false);
    expect(mayCall(member, 'rooms:read', 'a')).toBe(false);
  });
});

describe('API credentials', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-apikey-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('are made on first start in a file only the owner can read, and read back after', () => {
    const file = path.join(dir, 'first', 'api-key.json');
    const made = loadApiCredentials({ file });
    expect(made.created).toBe(true);
    expect(made.credentials.secret.length).toBeGreaterThanOrEqual(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const again = loadApiCredentials({ file });
    expect(again).toEqual({ credentials: made.credentials, file, created: false });
  });

  it('come from the environment when given, and no file is made', () => {
    const file = path.join(dir, 'env', 'api-key.json');
    expect(loadApiCredentials({ key: 'k', secret: 's', file }).credentials).toEqual({ key: 'k', secret: 's' });
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuse a key file others may read, or one that is not a key', () => {
    const open = path.join(dir, 'open.json');
    fs.writeFileSync(open, JSON.stringify({ key: 'TBabcdefgh', secret: 'x'.repeat(40) }), { mode: 0o644 });
    fs.chmodSync(open, 0o644);
    expect(() => loadApiCredentials({ file: open })).toThrow(/may be read by other users \(mode 644\)/);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{"key":"TBabcdefgh","secret":"short"}', { mode: 0o600 });
    expect(() => loadApiCredentials({ file: bad })).toThrow(ApiCredentialsError);
  });
});
