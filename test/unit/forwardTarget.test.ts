// Where a REST request about a room on another bridge is sent
// (bridge/http/roomForwarding.ts): that bridge, with the request's path and
// query, and nothing a caller could use to reach another host or route.
import { describe, expect, it } from 'vitest';
import { forwardTarget } from '../../bridge/http/roomForwarding.ts';

const HOME = 'https://b2.example.com:8443';

describe('forwardTarget', () => {
  it('keeps the path and query and takes the host from the room\'s bridge', () => {
    expect(forwardTarget('/api/rooms/standup/participants?x=1', HOME)?.href).toBe('https://b2.example.com:8443/api/rooms/standup/participants?x=1');
    expect(forwardTarget('/api/rooms/standup', `${HOME}/`)?.href).toBe('https://b2.example.com:8443/api/rooms/standup');
  });

  it('refuses an absolute request line, which would name another host (the request would otherwise go there)', () => {
    expect(forwardTarget('http://10.0.0.5:8500/api/rooms/standup/recordings', HOME)).toBeUndefined();
    expect(forwardTarget('//10.0.0.5:8500/api/rooms/standup', HOME)).toBeUndefined();
  });

  it('refuses dot segments, which would name another route', () => {
    expect(forwardTarget('/api/rooms/standup/recordings/..', HOME)).toBeUndefined();
    expect(forwardTarget('/api/rooms/standup/recordings/%2e%2e', HOME)).toBeUndefined();
    expect(forwardTarget('/api/rooms/standup/./participants', HOME)).toBeUndefined();
  });
});
