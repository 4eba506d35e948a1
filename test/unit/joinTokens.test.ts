import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { JoinRefused, JoinTokens } from '../../bridge/auth/JoinTokens.ts';
import { signToken } from '../../bridge/auth/signToken.ts';
import { TOKEN_AUDIENCE } from '../../protocol/accessTokens.ts';

const credentials = { key: 'TBjoinkey01', secret: 'j'.repeat(43) };
const join = (claims: Record<string, unknown>, expiresIn: string | number = '5m') => signToken(credentials, claims, { audience: TOKEN_AUDIENCE.join, expiresIn });
const refusal = (promise: Promise<unknown>) => promise.then(() => 'accepted', (error: unknown) => (error instanceof JoinRefused ? error.message : `other: ${String(error)}`));

describe('join tokens', () => {
  it('give the room, name, role and grants of a token minted with the API secret', async () => {
    const tokens = await JoinTokens.create(credentials);
    const verified = await tokens.verify(await join({ room: 'standup', name: 'Ada', role: 'moderator', grants: { record: false } }), 'standup');
    expect(verified).toMatchObject({ room: 'standup', name: 'Ada', role: 'moderator', grants: { publish: true, subscribe: true, record: false, stream: true, dialOut: true } });
    expect((await tokens.verify(await join({ room: '*' }), 'any-room')).role).toBe('participant');
  });

  it('refuse a token for another room, an expired one, a tampered one, and one made for REST', async () => {
    const tokens = await JoinTokens.create(credentials);
    expect(await refusal(tokens.verify(await join({ room: 'standup' }), 'board'))).toBe('token is for room standup, not board');
    expect(await refusal(tokens.verify(await join({ room: 'standup' }, Math.floor(Date.now() / 1000) - 5), 'standup'))).toBe('token expired');
    const [header, , signature] = (await join({ room: 'standup' })).split('.');
    const payload = Buffer.from(JSON.stringify({ room: 'standup', role: 'moderator', iss: credentials.key, aud: TOKEN_AUDIENCE.join, exp: 9e9 })).toString('base64url');
    expect(await refusal(tokens.verify(`${header}.${payload}.${signature}`, 'standup'))).toBe('token signature is invalid');
    const rest = await signToken(credentials, { room: 'standup' }, { audience: TOKEN_AUDIENCE.api, expiresIn: '5m' });
    expect(await refusal(tokens.verify(rest, 'standup'))).toBe('token is not for this use');
    expect(await refusal(tokens.verify(await join({ room: 'standup', role: 'owner' }), 'standup'))).toMatch(/token claims are invalid: role/);
    expect(await refusal(tokens.verify('garbage', 'standup'))).toBe('malformed token');
  });

  describe("with the operator's identity provider", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tb-idp-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKeyFile = path.join(dir, 'idp.pem');
    fs.writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }));
    const fromIdp = (claims: Record<string, unknown>, issuer = 'https://idp.example') =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer).setAudience(TOKEN_AUDIENCE.join).setExpirationTime('5m').sign(privateKey);

    it('accept its signed tokens, and still those of the API secret', async () => {
      const tokens = await JoinTokens.create(credentials, { publicKeyFile, issuer: 'https://idp.example' });
      expect((await tokens.verify(await fromIdp({ room: 'standup', role: 'moderator', sub: 'ada@example' }), 'standup')).subject).toBe('ada@example');
      expect((await tokens.verify(await join({ room: 'standup' }), 'standup')).room).toBe('standup');
      expect(await refusal(tokens.verify(await fromIdp({ room: 'standup' }, 'https://other.example'), 'standup'))).toBe('token issuer is not trusted');
    });

    it('refuse an HS256 token signed with the public key as a secret (algorithm confusion)', async () => {
      const tokens = await JoinTokens.create(credentials, { publicKeyFile });
      const forged = await new SignJWT({ room: 'standup', role: 'moderator' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(credentials.key)
        .setAudience(TOKEN_AUDIENCE.join)
        .setExpirationTime('5m')
        .sign(new Uint8Array(fs.readFileSync(publicKeyFile)));
      expect(await refusal(tokens.verify(forged, 'standup'))).toBe('token signature is invalid');
    });

    it('refuse asymmetric tokens when no provider is configured', async () => {
      const tokens = await JoinTokens.create(credentials);
      expect(await refusal(tokens.verify(await fromIdp({ room: 'standup' }), 'standup'))).toBe('token algorithm ES256 not allowed: no identity provider is configured');
    });
  });
});
