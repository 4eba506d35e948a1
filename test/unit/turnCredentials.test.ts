import { describe, expect, it } from 'vitest';
import { TurnCredentials } from '../../bridge/auth/TurnCredentials.ts';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { iceServerSchema } from '../../protocol/protocol.ts';
import { configError as expectConfigError } from '../helpers/config.ts';

const SECRET = 'north-wind-turn-secret-2026';
const PEER = '0b6f2d9e-6c1c-4d0f-9a51-3e0d7f1c2a44';
const URLS = ['turn:198.18.9.1:443?transport=tcp', 'turns:turn.example.com:443?transport=tcp'];

describe('TURN credentials (coturn use-auth-secret)', () => {
  it('are <expiry>:<peer id> and base64(HMAC-SHA1(secret, username)), for every TURN URL', () => {
    const credentials = new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 3600 });
    // Computed apart from the code under test:
    //   printf '%s' '1700003600:<peer>' | openssl dgst -sha1 -hmac '<secret>' -binary | base64
    expect(credentials.issue(PEER, 1_700_000_000_000)).toEqual([
      { urls: URLS, username: `1700003600:${PEER}`, credential: 'PBJimhf748a0AtSbdhimGfKR77U=' },
    ]);
  });

  it('expire ttlSeconds after they are issued (whole seconds), and differ as time passes', () => {
    const credentials = new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 600 });
    const [early] = credentials.issue(PEER, 1_700_000_000_999);
    const [later] = credentials.issue(PEER, 1_700_000_001_000);
    expect(early!.username).toBe(`1700000600:${PEER}`);
    expect(later!.username).toBe(`1700000601:${PEER}`);
    expect(later!.credential).not.toBe(early!.credential);
  });

  it('depend on the secret', () => {
    const [a] = new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 3600 }).issue(PEER, 0);
    const [b] = new TurnCredentials({ urls: URLS, secret: `${SECRET}!`, ttlSeconds: 3600 }).issue(PEER, 0);
    expect(a!.username).toBe(b!.username);
    expect(a!.credential).not.toBe(b!.credential);
  });

  it('fit the join response schema, which refuses what is not a turn: or turns: URI', () => {
    const [server] = new TurnCredentials({ urls: URLS, secret: SECRET, ttlSeconds: 3600 }).issue(PEER);
    expect(iceServerSchema.safeParse(server).success).toBe(true);
    for (const url of ['stun:198.18.9.1:3478', 'https://turn.example.com', 'turn:', 'turn:host?transport=sctp']) {
      expect(iceServerSchema.safeParse({ ...server, urls: [url] }).success, url).toBe(false);
    }
  });
});

describe('TURN settings', () => {
  const configError = (env: Record<string, string>) => expectConfigError(loadBridgeConfig, env);

  it('are off unless set, and read TURN_URLS, TURN_SECRET and the TTL (3600 s by default)', () => {
    expect(loadBridgeConfig({}).turn).toBeUndefined();
    expect(loadBridgeConfig({ TURN_URLS: ` ${URLS.join(' , ')} `, TURN_SECRET: SECRET }).turn).toEqual({ urls: URLS, secret: SECRET, ttlSeconds: 3600 });
    expect(loadBridgeConfig({ TURN_URLS: URLS[0]!, TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_SECONDS: '900' }).turn?.ttlSeconds).toBe(900);
  });

  it('stop startup naming the setting: a URL that is not TURN, one without the other, a short secret (not shown), a TTL out of range', () => {
    expect(configError({ TURN_URLS: 'stun:198.18.9.1', TURN_SECRET: SECRET })).toContain('TURN_URLS');
    expect(configError({ TURN_URLS: URLS[0]! })).toMatch(/TURN_SECRET: required when TURN_URLS is set/);
    expect(configError({ TURN_SECRET: SECRET })).toContain('TURN_URLS');
    const short = configError({ TURN_URLS: URLS[0]!, TURN_SECRET: 'short-secret' });
    expect(short).toContain('TURN_SECRET: at least 16 characters');
    expect(short).not.toContain('short-secret');
    expect(configError({ TURN_URLS: URLS[0]!, TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_SECONDS: '86401' })).toContain('TURN_CREDENTIAL_TTL_SECONDS');
    expect(configError({ TURN_URLS: URLS[0]!, TURN_SECRET: SECRET, TURN_CREDENTIAL_TTL_SECONDS: '10' })).toContain('TURN_CREDENTIAL_TTL_SECONDS');
  });
});
