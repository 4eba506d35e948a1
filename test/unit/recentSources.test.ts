import { describe, expect, it } from 'vitest';
import { RecentSources } from '../../gateway/edge/RecentSources.ts';

describe('RecentSources', () => {
  it('holds at most max entries, keeping those used lately', () => {
    const map = new RecentSources<number>(4);
    for (let i = 0; i < 100; i++) {
      map.set(`a${i}`, i);
      expect(map.get('keep')).toBe(i === 0 ? undefined : 1);
      if (i === 0) map.set('keep', 1);
      expect(map.size).toBeLessThanOrEqual(4);
    }
    expect(map.get('a0')).toBeUndefined();
    expect(map.get('a99')).toBe(99);
    map.delete('keep');
    expect(map.get('keep')).toBeUndefined();
  });
});
