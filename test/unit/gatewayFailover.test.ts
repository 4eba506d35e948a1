// Where and until when the gateway's legs join a room again after its bridge
// was lost (gateway/room/bridgeFailover.ts); the loss itself is
// test/gateway/failover.test.ts.
import { describe, expect, it } from 'vitest';
import { lostTheBridge, rejoinAt, RejoinGaveUp, rejoinTargets } from '../../gateway/room/bridgeFailover.ts';
import { SignalingError } from '../../protocol/SignalingClient.ts';

describe('lostTheBridge', () => {
  it('is a broken connection or a bridge shutting down, never the room ending the participant or our own leaving', () => {
    expect(lostTheBridge('connectionLost')).toBe(true);
    expect(lostTheBridge('shuttingDown')).toBe(true);
    for (const reason of ['kicked', 'roomClosed', 'meetingEnded', 'left'] as const) expect(lostTheBridge(reason), reason).toBe(false);
  });
});

describe('rejoinTargets', () => {
  it('tries where the room is back, the lost bridge, ours, then the fallbacks in their order, on our signaling path', () => {
    const { targets, refused } = rejoinTargets({
      roomAt: 'ws://198.18.1.3:8080/ws',
      lost: 'ws://198.18.1.1:8080/ws',
      configured: 'ws://198.18.1.2:8080/ws',
      fallbacks: ['http://198.18.1.4:8080', 'http://198.18.1.5:8080/'],
    });
    expect(targets).toEqual([
      'ws://198.18.1.3:8080/ws',
      'ws://198.18.1.1:8080/ws',
      'ws://198.18.1.2:8080/ws',
      'ws://198.18.1.4:8080/ws',
      'ws://198.18.1.5:8080/ws',
    ]);
    expect(refused).toEqual([]);
  });

  it('tries each bridge once: the lost one being ours, or among the fallbacks, is not tried twice', () => {
    const { targets } = rejoinTargets({
      lost: 'ws://b.example:8080/ws',
      configured: 'ws://b.example:8080/ws',
      fallbacks: ['http://a.example:8080', 'http://b.example:8080', 'http://a.example:8080/'],
    });
    expect(targets).toEqual(['ws://b.example:8080/ws', 'ws://a.example:8080/ws']);
  });

  it('never moves a secure connection to a plain-HTTP fallback (our secret would cross in the clear)', () => {
    const { targets, refused } = rejoinTargets({
      lost: 'wss://a.example/ws',
      configured: 'wss://b.example/ws',
      fallbacks: ['http://c.example', 'https://d.example'],
    });
    expect(targets).toEqual(['wss://a.example/ws', 'wss://b.example/ws', 'wss://d.example/ws']);
    expect(refused).toEqual(['http://c.example']);
  });
});

describe('rejoinAt', () => {
  const refusedConnect = (url: string) => new SignalingError('closed', `could not connect to ${url}`);

  it('goes on to the next target at once when one fails, and answers what the first that takes us gave', async () => {
    const tried: string[] = [];
    const joined = await rejoinAt(
      ['dead', 'elsewhere-to-dead', 'alive'],
      async (url) => {
        tried.push(url);
        if (url !== 'alive') throw refusedConnect(url);
        return `joined at ${url}`;
      },
      { signal: AbortSignal.timeout(1000) },
    );
    expect(joined).toBe('joined at alive');
    expect(tried).toEqual(['dead', 'elsewhere-to-dead', 'alive']);
  });

  it('goes round again (after a pause) until a bridge takes the room over', async () => {
    let tries = 0;
    const failures: string[] = [];
    const joined = await rejoinAt(
      ['a', 'b'],
      async (url) => {
        if (++tries < 5) throw refusedConnect(url);
        return url;
      },
      { signal: AbortSignal.timeout(5000), onFailure: (url) => failures.push(url) },
    );
    expect(joined).toBe('a');
    expect(failures).toEqual(['a', 'b', 'a', 'b']);
  });

  it('tries a bridge that let its connect time out (a dead machine) after the others in the next rounds', async () => {
    const tried: string[] = [];
    let round = 0;
    const joined = await rejoinAt(
      ['lost', 'ours', 'fallback'],
      async (url) => {
        tried.push(url);
        if (url === 'lost') throw new SignalingError('timeout', `could not connect to ${url} within 3000 ms`);
        if (url === 'ours') round++;
        // The fallback takes the room over only in the second round (the directory still agreeing in the first).
        if (url === 'fallback' && round === 2) return url;
        throw refusedConnect(url);
      },
      { signal: AbortSignal.timeout(5000) },
    );
    expect(joined).toBe('fallback');
    expect(tried).toEqual(['lost', 'ours', 'fallback', 'ours', 'fallback']);
  });

  it('gives up at the deadline, saying what failed last', async () => {
    const started = performance.now();
    const attempt = rejoinAt(['a'], async (url) => Promise.reject(refusedConnect(url)), { signal: AbortSignal.timeout(300) });
    await expect(attempt).rejects.toThrow(RejoinGaveUp);
    await expect(attempt).rejects.toThrow(/could not connect to a/);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('stops at a refusal no other bridge will change (a locked room, a final failure of the caller)', async () => {
    const tried: string[] = [];
    const locked = rejoinAt(
      ['a', 'b'],
      async (url) => {
        tried.push(url);
        throw new SignalingError('passwordRequired', 'join: the room is locked');
      },
      { signal: AbortSignal.timeout(1000) },
    );
    await expect(locked).rejects.toMatchObject({ code: 'passwordRequired' });
    expect(tried).toEqual(['a']);
    const removed = new Error('removed while joining');
    await expect(rejoinAt(['a', 'b'], async () => Promise.reject(removed), { signal: AbortSignal.timeout(1000), isFinal: (error) => error === removed })).rejects.toBe(removed);
  });
});
