import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { watchLiveness } from '../../bridge/cascade/linkLiveness.ts';

/** A ws socket's liveness side: pings counted, terminate closes it. */
class FakeSocket extends EventEmitter {
  readyState = 1;
  pings = 0;
  terminated = false;
  ping(): void {
    this.pings += 1;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
    this.emit('close');
  }
}

describe('cascade link liveness', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('terminates a link whose other end missed two pongs in a row', () => {
    const socket = new FakeSocket();
    const dead = vi.fn();
    watchLiveness(socket, dead, 1000);
    vi.advanceTimersByTime(2000);
    expect(socket.pings).toBe(2);
    expect(socket.terminated).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(socket.terminated).toBe(true);
    expect(dead).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(5000);
    expect(socket.pings).toBe(2);
  });

  it('keeps a link that answers, and does not ping one still connecting', () => {
    const socket = new FakeSocket();
    socket.readyState = 0;
    watchLiveness(socket, () => {}, 1000);
    vi.advanceTimersByTime(5000);
    expect(socket.pings).toBe(0);
    socket.readyState = 1;
    for (let i = 0; i < 10; i++) {
      vi.advanceTimersByTime(1000);
      socket.emit('pong');
    }
    expect(socket.pings).toBe(10);
    expect(socket.terminated).toBe(false);
  });

  it('stops when the link closes', () => {
    const socket = new FakeSocket();
    watchLiveness(socket, () => {}, 1000);
    socket.emit('close');
    vi.advanceTimersByTime(5000);
    expect(socket.pings).toBe(0);
  });
});
