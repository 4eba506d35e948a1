import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestAuthenticator, parseDigest } from '../../gateway/calls/DigestAuthenticator.ts';

const CREDENTIALS = { username: 'pbx', password: 'pass-1234', realm: 'telebridge' };
const URI = 'sip:board@192.0.2.10:5060';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** What a phone sends back to a challenge (RFC 7616, qop=auth). */
function answer(challenge: string, options: { nc?: number; uri?: string; method?: string; password?: string; realm?: string; username?: string } = {}): string {
  const { nonce, realm: offered } = parseDigest(challenge)!;
  const { nc = 1, uri = URI, method = 'INVITE', password = CREDENTIALS.password, realm = offered!, username = CREDENTIALS.username } = options;
  const count = nc.toString(16).padStart(8, '0');
  const cnonce = 'c0ffee';
  const response = md5(`${md5(`${username}:${realm}:${password}`)}:${nonce}:${count}:${cnonce}:auth:${md5(`${method}:${uri}`)}`);
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=${count}, cnonce="${cnonce}"`;
}

describe('digest authentication', () => {
  it('challenges a request without credentials, and takes a right answer once per count', () => {
    const digest = new DigestAuthenticator(CREDENTIALS);
    const first = digest.verify({ method: 'INVITE', uri: URI, authorization: undefined });
    expect(first).toMatchObject({ ok: false, status: 401, challenge: expect.stringMatching(/^Digest realm="telebridge", nonce="[^"]+", algorithm=MD5, qop="auth"$/) });
    const challenge = (first as { challenge: string }).challenge;
    const authorization = answer(challenge);
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization })).toEqual({ ok: true });
    // The same header again (a capture replayed): refused with a fresh challenge.
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization })).toMatchObject({ ok: false, status: 401, why: 'a replayed nonce count' });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge, { nc: 2 }) })).toEqual({ ok: true });
  });

  it('refuses credentials for another URI, realm or method, wrong passwords, and nonces it never issued', () => {
    const digest = new DigestAuthenticator(CREDENTIALS);
    const challenge = digest.challenge();
    expect(digest.verify({ method: 'INVITE', uri: 'sip:other@192.0.2.10', authorization: answer(challenge) })).toMatchObject({ status: 401, why: expect.stringContaining('another request URI') });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge, { realm: 'evil' }) })).toMatchObject({ status: 401, why: 'realm evil is not ours' });
    expect(digest.verify({ method: 'REGISTER', uri: URI, authorization: answer(challenge) })).toMatchObject({ status: 403 });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge, { password: 'guess' }) })).toMatchObject({ status: 403, why: 'wrong username or password' });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge, { username: 'admin' }) })).toMatchObject({ status: 403 });
    const forged = challenge.replace(/nonce="([^"]+)\.[^".]+"/, 'nonce="$1.AAAAAAAAAAAAAAAAAAAAAA"');
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(forged) })).toMatchObject({ status: 401, why: 'a nonce we did not issue' });
    const other = new DigestAuthenticator(CREDENTIALS); // another process's nonces are not ours either
    expect(other.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge) })).toMatchObject({ status: 401, why: 'a nonce we did not issue' });
  });

  it('answers a right answer to an expired nonce with stale=true, and the retry with the new nonce passes', () => {
    let now = 1_000_000;
    const digest = new DigestAuthenticator(CREDENTIALS, { nonceTtlMs: 30_000, now: () => now });
    const old = digest.challenge();
    now += 31_000;
    const verdict = digest.verify({ method: 'INVITE', uri: URI, authorization: answer(old) });
    expect(verdict).toMatchObject({ ok: false, status: 401, why: 'the nonce expired', challenge: expect.stringMatching(/, stale=true$/) });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer((verdict as { challenge: string }).challenge) })).toEqual({ ok: true });
  });

  it('keeps a bounded memory of counts, and never takes a dropped nonce again', () => {
    let now = 0;
    const digest = new DigestAuthenticator(CREDENTIALS, { maxTrackedNonces: 2, now: () => now++ });
    const challenges = [digest.challenge(), digest.challenge(), digest.challenge()];
    for (const challenge of challenges) expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenge) })).toEqual({ ok: true });
    // The first nonce's count was dropped for the third: a replay with a higher count is still refused.
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenges[0]!, { nc: 5 }) })).toMatchObject({ status: 401, why: 'a nonce whose count was dropped' });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: answer(challenges[2]!, { nc: 2 }) })).toEqual({ ok: true });
  });

  it('parses quoted, escaped and bare auth-params, and refuses what is not Digest', () => {
    expect(parseDigest('Digest username="a\\"b", nc=00000001 , qop=auth,realm="x, y"')).toEqual({ username: 'a"b', nc: '00000001', qop: 'auth', realm: 'x, y' });
    expect(parseDigest('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(parseDigest('Digest garbage without equals')).toBeUndefined();
    const digest = new DigestAuthenticator(CREDENTIALS);
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: `Digest username="${'x'.repeat(3000)}"` })).toMatchObject({ status: 401, why: 'Authorization header too long' });
    expect(digest.verify({ method: 'INVITE', uri: URI, authorization: 'Digest username="pbx"' })).toMatchObject({ status: 401, why: 'incomplete Digest credentials' });
  });
});
