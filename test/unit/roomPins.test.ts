import { describe, expect, it } from 'vitest';
import { RoomPins, type DeploymentPins } from '../../bridge/rooms/RoomPins.ts';

/** Returns the given numbers in turn, as randomInt would. */
function scripted(...values: number[]): (min: number, max: number) => number {
  return (min, max) => {
    const value = values.shift();
    if (value === undefined || value < min || value >= max) throw new Error(`no scripted value in [${min}, ${max})`);
    return value;
  };
}

/** The deployment's PINs as a map (PIN → room), some held by other bridges' rooms from the start. */
function deployment(heldElsewhere: Record<string, string> = {}): DeploymentPins & { held: Map<string, string> } {
  const held = new Map(Object.entries(heldElsewhere));
  return {
    held,
    claim: async (pin, room) => {
      if (held.has(pin)) return false;
      held.set(pin, room);
      return true;
    },
    release: (pin, room) => {
      if (held.get(pin) === room) held.delete(pin);
    },
    roomOf: async (pin) => held.get(pin),
  };
}

describe('dial-in PINs', () => {
  it('hands out PINs of the configured length, each unique while reserved', async () => {
    const pins = new RoomPins<string>(6, { random: scripted(123456, 123456, 654321) });
    expect(await pins.reserve('a')).toBe('123456');
    expect(await pins.reserve('b')).toBe('654321'); // the repeat was drawn again
  });

  it('never starts a PIN with 0, so the caller types all its digits', async () => {
    const pins = new RoomPins<string>(6, {
      random: (min, max) => {
        expect([min, max]).toEqual([100_000, 1_000_000]);
        return min;
      },
    });
    expect(await pins.reserve('a')).toBe('100000');
  });

  it('leads callers to the room only once assigned, and no longer once released', async () => {
    const pins = new RoomPins<string>(6, { random: scripted(111111, 111111) });
    const pin = await pins.reserve('board');
    expect(pins.roomOf(pin)).toBeUndefined();
    pins.assign(pin, 'board');
    expect(pins.roomOf(pin)).toBe('board');
    pins.release(pin);
    expect(pins.roomOf(pin)).toBeUndefined();
    expect(await pins.reserve('board')).toBe(pin); // free again
  });

  it('refuses to assign a PIN it did not hand out', () => {
    expect(() => new RoomPins<string>(6).assign('123456', 'board')).toThrow(/not reserved/);
  });

  it('says so when every PIN is taken instead of searching forever', async () => {
    const pins = new RoomPins<string>(1);
    const taken = [];
    for (let i = 0; i < 9; i++) taken.push(await pins.reserve(`room-${i}`));
    expect(new Set(taken)).toEqual(new Set(['1', '2', '3', '4', '5', '6', '7', '8', '9']));
    await expect(pins.reserve('one-more')).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('dial-in PINs across a deployment', () => {
  it('skips a PIN another bridge\'s room holds, and claims the one it hands out for its room', async () => {
    const others = deployment({ '222222': 'elsewhere' });
    const pins = new RoomPins<string>(6, { random: scripted(222222, 333333), deployment: others });
    expect(await pins.reserve('board')).toBe('333333');
    expect(others.held).toEqual(new Map([['222222', 'elsewhere'], ['333333', 'board']]));
  });

  it('gives the claim back when the room closes, and only its own', async () => {
    const others = deployment();
    const pins = new RoomPins<string>(6, { random: scripted(444444), deployment: others });
    const pin = await pins.reserve('board');
    pins.assign(pin, 'board');
    pins.release(pin);
    expect(others.held.size).toBe(0);
    pins.release(pin); // twice: nothing left to give back
    expect(others.held.size).toBe(0);
  });

  it('does not hand a PIN to two rooms being made at once on this bridge while the deployment answers', async () => {
    const pins = new RoomPins<string>(6, { random: scripted(555555, 555555, 666666), deployment: deployment() });
    const [first, second] = await Promise.all([pins.reserve('a'), pins.reserve('b')]);
    expect(new Set([first, second])).toEqual(new Set(['555555', '666666']));
  });

  it('refuses when every PIN is held here or elsewhere, instead of searching forever', async () => {
    const others = deployment(Object.fromEntries(['1', '2', '3', '4', '5', '6'].map((pin) => [pin, `other-${pin}`])));
    const pins = new RoomPins<string>(1, { deployment: others });
    const taken = [];
    for (let i = 0; i < 3; i++) taken.push(await pins.reserve(`room-${i}`));
    expect(new Set(taken)).toEqual(new Set(['7', '8', '9']));
    await expect(pins.reserve('one-more')).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('does not keep a PIN reserved when its claim fails', async () => {
    const others = deployment();
    let broken = true;
    const pins = new RoomPins<string>(6, {
      random: scripted(777777, 777777),
      deployment: { ...others, claim: (pin, room) => (broken ? Promise.reject(new Error('broken')) : others.claim(pin, room)) },
    });
    await expect(pins.reserve('a')).rejects.toThrow('broken');
    broken = false;
    expect(await pins.reserve('a')).toBe('777777'); // free again (a scripted repeat would have thrown)
  });
});
