import { describe, expect, it } from 'vitest';
import { desertion } from '../../bridge/rooms/desertion.ts';

const participant = { remote: false, hidden: false };
const recorder = { remote: false, hidden: true };
const remote = { remote: true, hidden: false };

describe('when a room closes as people leave', () => {
  it('the home keeps it while anyone is in it, on either bridge, a recorder too', () => {
    expect(desertion(false, [participant])).toBeUndefined();
    expect(desertion(false, [remote])).toBeUndefined();
    expect(desertion(false, [recorder])).toBeUndefined();
    expect(desertion(false, [])).toBe('roomClosed');
  });
  it('a satellite keeps it while a participant of its own is in it', () => {
    expect(desertion(true, [participant, remote, recorder])).toBeUndefined();
    expect(desertion(true, [remote])).toBe('shuttingDown');
    expect(desertion(true, [])).toBe('shuttingDown');
  });
  it('a recorder left alone on a satellite does not keep it: it is told the bridge shuts down the room here, not that the meeting ended, and rejoins on the home', () => {
    expect(desertion(true, [recorder, remote])).toBe('shuttingDown');
    expect(desertion(true, [recorder])).toBe('shuttingDown');
  });
});
