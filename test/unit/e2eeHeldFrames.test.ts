// What a video receiver keeps of the frames that come before its sender's
// first key: from the last keyframe on, so the picture starts the moment the
// key is in rather than after another keyframe round trip.
import { describe, expect, it } from 'vitest';
import { HeldFrames, MAX_HELD_FRAMES } from '../../web/src/e2ee/HeldFrames.ts';

describe('HeldFrames', () => {
  it('keeps nothing before the first keyframe: a decoder cannot use those deltas', () => {
    const held = new HeldFrames<string>();
    expect(held.hold('d1', false)).toBe(false);
    expect(held.hold('d2', false)).toBe(false);
    expect(held.take()).toEqual([]);
  });

  it('keeps a keyframe and the deltas after it, in order, and gives them up once', () => {
    const held = new HeldFrames<string>();
    expect(held.hold('d0', false)).toBe(false);
    expect(held.hold('k1', true)).toBe(true);
    expect(held.hold('d1', false)).toBe(true);
    expect(held.hold('d2', false)).toBe(true);
    expect(held.size).toBe(3);
    expect(held.take()).toEqual(['k1', 'd1', 'd2']);
    expect(held.size).toBe(0);
    expect(held.take()).toEqual([]);
  });

  it('starts again from a newer keyframe, dropping what came before it', () => {
    const held = new HeldFrames<string>();
    held.hold('k1', true);
    held.hold('d1', false);
    held.hold('k2', true);
    held.hold('d2', false);
    expect(held.take()).toEqual(['k2', 'd2']);
  });

  it('lets go of everything past its cap, until the next keyframe', () => {
    const held = new HeldFrames<number>();
    held.hold(0, true);
    for (let i = 1; i < MAX_HELD_FRAMES; i++) expect(held.hold(i, false)).toBe(true);
    expect(held.size).toBe(MAX_HELD_FRAMES);
    expect(held.hold(MAX_HELD_FRAMES, false)).toBe(false);
    expect(held.size).toBe(0);
    expect(held.hold(MAX_HELD_FRAMES + 1, false)).toBe(false);
    expect(held.hold(MAX_HELD_FRAMES + 2, true)).toBe(true);
    expect(held.take()).toEqual([MAX_HELD_FRAMES + 2]);
  });
});
