import { describe, expect, it } from 'vitest';
import { RoomPins } from '../../bridge/rooms/RoomPins.ts';

/** Returns the given numbers in turn, as randomInt would. */
function scripted(...values: number[]): (min: number, max: number) => number {
  return (min, max) => {
    const value = values.shift();
    if (value === undefined || value < min || value >= max) throw new Error(`no scripted value in [${min}, ${max})`);
    return value;
  };
}

describe('dial-in PINs', () => {
  it('hands out PINs of the configured length, each unique while reserved', () => {
    const pins = new RoomPins<string>(6, scripted(123456, 123456, 654321));
    expect(pins.reserve()).toBe('123456');
    expect(pins.reserve()).toBe('654321'); // the repeat was drawn again
  });

  it('never starts a PIN with 0, so the caller types all its digits', () => {
    const pins = new RoomPins<string>(6, (min, max) => {
      expect([min, max]).toEqual([100_000, 1_000_000]);
      return min;
    });
    expect(pins.reserve()).toBe('100000');
  });

  it('leads callers to the room only once assigned, and no longer once released', () => {
    const pins = new RoomPins<string>(6, scripted(111111, 111111));
    const pin = pins.reserve();
    expect(pins.roomOf(pin)).toBeUndefined();
    pins.assign(pin, 'board');
    expect(pins.roomOf(pin)).toBe('board');
    pins.release(pin);
    expect(pins.roomOf(pin)).toBeUndefined();
    expect(pins.reserve()).toBe(pin); // free again
  });

  it('refuses to assign a PIN it did not hand out', () => {
    expect(() => new RoomPins<string>(6).assign('123456', 'board')).toThrow(/not reserved/);
  });

  it('says so when every PIN is taken instead of searching forever', () => {
    const pins = new RoomPins<string>(1);
    const taken = Array.from({ length: 9 }, () => pins.reserve());
    expect(new Set(taken)).toEqual(new Set(['1', '2', '3', '4', '5', '6', '7', '8', '9']));
    expect(() => pins.reserve()).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });
});
