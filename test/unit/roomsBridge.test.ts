// Where the web page goes when its room lives on another bridge
// (web/src/lib/roomsBridge.ts), and when it must not follow.
import { describe, expect, it } from 'vitest';
import { MAX_BRIDGE_MOVES, roomsBridgePage, withoutMoves } from '../../web/src/lib/roomsBridge.ts';

describe('roomsBridgePage', () => {
  it('goes to the same room path and query on the room\'s bridge, counting the move', () => {
    expect(roomsBridgePage('https://a.example.com/standup?jwt=abc', 'https://b.example.com:8443')).toBe('https://b.example.com:8443/standup?jwt=abc&moves=1');
    expect(roomsBridgePage('https://b.example.com:8443/standup?jwt=abc&moves=1', 'https://c.example.com/')).toBe('https://c.example.com/standup?jwt=abc&moves=2');
  });

  it('does not follow a bridge that names the page\'s own origin, nor beyond the most moves', () => {
    expect(roomsBridgePage('https://a.example.com/standup', 'https://a.example.com/')).toBeUndefined();
    expect(roomsBridgePage(`https://c.example.com/standup?moves=${MAX_BRIDGE_MOVES}`, 'https://a.example.com')).toBeUndefined();
    expect(roomsBridgePage('https://c.example.com/standup?moves=-1', 'https://a.example.com')).toBeUndefined();
    expect(roomsBridgePage('https://c.example.com/standup?moves=many', 'https://a.example.com')).toBeUndefined();
  });

  it('drops the count from the address once joined', () => {
    expect(withoutMoves('https://b.example.com/standup?jwt=abc&moves=1')).toBe('https://b.example.com/standup?jwt=abc');
    expect(withoutMoves('https://b.example.com/standup?jwt=abc')).toBeUndefined();
  });
});
