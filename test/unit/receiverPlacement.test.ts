import { describe, expect, it } from 'vitest';
import { loadBridgeConfig } from '../../bridge/config.ts';
import { placeReceiver } from '../../bridge/media/receiverPlacement.ts';
import { configError } from '../helpers/config.ts';

const worker = (name: string, consumers: number) => ({ name, consumers });

describe('placing a room receiver', () => {
  it('stays on the least-loaded of the room’s workers below the threshold', () => {
    const home = worker('home', 10);
    const extra = worker('extra', 4);
    expect(placeReceiver([home], [worker('idle', 0)], 20)).toBe(home);
    expect(placeReceiver([home, extra], [worker('idle', 0)], 20)).toBe(extra);
  });

  it('spreads to the least-loaded other worker once the room’s lightest reaches the threshold', () => {
    const idle = worker('idle', 0);
    expect(placeReceiver([worker('home', 20)], [worker('busy', 15), idle], 20)).toBe(idle);
  });

  it('stays on the room’s lightest when no other worker is lighter, or there is none', () => {
    const home = worker('home', 30);
    const extra = worker('extra', 25);
    expect(placeReceiver([home, extra], [], 20)).toBe(extra);
    expect(placeReceiver([home, extra], [worker('busier', 40)], 20)).toBe(extra);
    expect(placeReceiver([home], [worker('same', 30)], 20)).toBe(home);
  });

  it('needs a worker of the room to compare with', () => {
    expect(() => placeReceiver([], [worker('idle', 0)], 20)).toThrow(/router/);
  });
});

describe('MEDIA_WORKER_SPREAD_CONSUMERS', () => {
  it('defaults to 500 and must be a whole number of at least 1', () => {
    expect(loadBridgeConfig({}).media.spreadConsumers).toBe(500);
    expect(loadBridgeConfig({ MEDIA_WORKER_SPREAD_CONSUMERS: '20' }).media.spreadConsumers).toBe(20);
    for (const bad of ['0', '-5', '2.5', 'many']) {
      expect(configError(loadBridgeConfig, { MEDIA_WORKER_SPREAD_CONSUMERS: bad })).toContain('MEDIA_WORKER_SPREAD_CONSUMERS');
    }
  });
});
