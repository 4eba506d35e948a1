import { describe, expect, it } from 'vitest';
import { ConnectionsPerAddress } from '../../bridge/limits/ConnectionsPerAddress.ts';
import { PasswordAttempts, TooManyAttempts } from '../../bridge/limits/PasswordAttempts.ts';
import { TokenBucket } from '../../bridge/limits/TokenBucket.ts';

describe('message budget', () => {
  it('allows a burst, refuses beyond it, and refills at the rate', () => {
    const bucket = new TokenBucket(10, 5, 0);
    const taken = Array.from({ length: 8 }, () => bucket.take(0));
    expect(taken).toEqual([true, true, true, true, true, false, false, false]);
    expect(bucket.take(100)).toBe(true); // 100 ms at 10/s: one token back
    expect(bucket.take(100)).toBe(false);
    expect(Array.from({ length: 6 }, () => bucket.take(10_000)).filter(Boolean)).toHaveLength(5); // refills to the burst, no more
  });
});

describe('sockets per address', () => {
  it('caps each address on its own and frees a slot on close', () => {
    const limit = new ConnectionsPerAddress(2);
    expect([limit.open('a'), limit.open('a'), limit.open('a'), limit.open('b')]).toEqual([true, true, false, true]);
    limit.close('a');
    expect(limit.open('a')).toBe(true);
    limit.close('a');
    limit.close('a');
    limit.close('b');
    expect(limit.addresses).toBe(0);
  });
});

describe('password attempts', () => {
  const attempt = (socket: string, address = '198.51.100.1', room = 'r') => ({ socket, address, room });
  const refused = (promise: Promise<void>) => promise.then(() => false, (error: unknown) => error instanceof TooManyAttempts);

  it('refuses a socket after three wrong passwords, saying when to try again', async () => {
    const attempts = new PasswordAttempts();
    for (let i = 0; i < 3; i++) {
      await attempts.check(attempt('s1'));
      await attempts.failed(attempt('s1'));
    }
    const error = await attempts.check(attempt('s1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyAttempts);
    expect((error as TooManyAttempts).message).toMatch(/too many wrong passwords: try again in \d+ s/);
    expect(Number(/in (\d+) s/.exec((error as TooManyAttempts).message)![1])).toBeGreaterThan(50);
  });

  it('counts an address across new sockets, and a room across addresses', async () => {
    const attempts = new PasswordAttempts();
    for (let i = 0; i < 5; i++) await attempts.failed(attempt(`s${i}`));
    expect(await refused(attempts.check(attempt('fresh-socket')))).toBe(true);
    expect(await refused(attempts.check(attempt('other', '198.51.100.2')))).toBe(false);
    for (let i = 0; i < 30; i++) await attempts.failed(attempt(`t${i}`, `203.0.113.${i}`, 'target'));
    expect(await refused(attempts.check(attempt('new', '192.0.2.99', 'target')))).toBe(true);
    expect(await refused(attempts.check(attempt('new', '192.0.2.99', 'another-room')))).toBe(false);
  });
});
