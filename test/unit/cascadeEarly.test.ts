import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BridgeLink } from '../../bridge/cascade/BridgeLink.ts';
import type { ProducerPipes } from '../../bridge/cascade/ProducerPipes.ts';
import type { Room } from '../../bridge/rooms/Room.ts';
import type { Logger } from '../../common/logger.ts';

/** The ws socket side a link uses before it starts: messages in, close out. Still connecting, so liveness never pings. */
class FakeSocket extends EventEmitter {
  readonly OPEN = 1;
  readyState = 0;
  closedWith: [number, string] | undefined;
  send(): void {}
  ping(): void {}
  terminate(): void {}
  close(code: number, reason: string): void {
    this.closedWith ??= [code, reason];
    this.emit('close');
  }
}

describe('a cascade link before it starts', () => {
  // The link's rate budget is on performance.now(): faked, so the queue can grow within the budget.
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] }));
  afterEach(() => void vi.useRealTimers());

  it('keeps what comes early up to its cap, then closes the link saying why', () => {
    const socket = new FakeSocket();
    const warn = vi.fn();
    const logger = { warn, debug: () => {}, info: () => {} } as unknown as Logger;
    const pipes = { close: () => {} } as unknown as ProducerPipes;
    new BridgeLink(socket as never, {} as Room, pipes, { arrived: () => {} }, logger);
    const entry = Buffer.from(JSON.stringify({ type: 'entry', locked: false, lobby: false }));
    // Within the rate budget all along (a burst, then 100 a second): only the cap can close the link.
    for (let i = 0; i < 1000; i++) socket.emit('message', entry, false);
    expect(socket.closedWith).toBeUndefined();
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1000);
      for (let j = 0; j < 100 && !socket.closedWith; j++) socket.emit('message', entry, false);
    }
    expect(socket.closedWith).toEqual([1008, 'too many messages before the link started']);
    expect(warn).toHaveBeenCalledWith({ queued: 1000 }, 'cascade link closed: more than 1000 messages came before it started');
  });
});
