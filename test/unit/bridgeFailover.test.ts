// Where a room's clients go when its bridge dies: the order they try the
// other bridges in (bridge/directory/placement.ts rendezvousOrder, the same
// for every client of the room), and the signaling URLs a page tries, in
// order (web/src/lib/failoverTargets.ts).
import { describe, expect, it } from 'vitest';
import { rendezvousOrder } from '../../bridge/directory/placement.ts';
import { failoverTargets } from '../../web/src/lib/failoverTargets.ts';

const bridges = (...ids: string[]) => ids.map((id) => ({ id, url: `https://${id}.example.com` }));
const ids = (list: readonly { id: string }[]) => list.map((bridge) => bridge.id);

describe('rendezvousOrder', () => {
  it('ranks the bridges alike for a room whoever asks: the order they were listed in does not matter', () => {
    const listed = bridges('a', 'b', 'c', 'd');
    const order = ids(rendezvousOrder('standup', listed));
    expect([...order].sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(ids(rendezvousOrder('standup', [...listed].reverse()))).toEqual(order);
    expect(ids(rendezvousOrder('standup', [listed[2]!, listed[0]!, listed[3]!, listed[1]!]))).toEqual(order);
  });

  it('spreads rooms: each of three bridges comes first for about a third of 300 rooms', () => {
    const first: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 300; i++) first[rendezvousOrder(`room-${i}`, bridges('a', 'b', 'c'))[0]!.id]!++;
    for (const count of Object.values(first)) expect(count).toBeGreaterThan(70);
  });

  it('a bridge leaving changes nothing else: the others keep their order for every room', () => {
    for (let i = 0; i < 50; i++) {
      const room = `room-${i}`;
      const withC = ids(rendezvousOrder(room, bridges('a', 'b', 'c', 'd')));
      expect(ids(rendezvousOrder(room, bridges('a', 'b', 'd')))).toEqual(withC.filter((id) => id !== 'c'));
    }
  });
});

describe('failoverTargets', () => {
  it('tries the bridge it was on first, then the fallbacks in the order given, each once', () => {
    expect(failoverTargets('ws://10.0.0.1:8080/ws', ['http://10.0.0.3:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080/', 'http://10.0.0.1:8080'])).toEqual([
      'ws://10.0.0.1:8080/ws',
      'ws://10.0.0.3:8080/ws',
      'ws://10.0.0.2:8080/ws',
    ]);
    expect(failoverTargets('wss://a.example.com/ws', [])).toEqual(['wss://a.example.com/ws']);
  });

  it('asks a bridge that said it is shutting down last, unless there is nowhere else', () => {
    expect(failoverTargets('ws://10.0.0.1:8080/ws', ['http://10.0.0.2:8080'], { currentLeaving: true })).toEqual(['ws://10.0.0.2:8080/ws', 'ws://10.0.0.1:8080/ws']);
    expect(failoverTargets('ws://10.0.0.1:8080/ws', [], { currentLeaving: true })).toEqual(['ws://10.0.0.1:8080/ws']);
  });

  it("never moves a secure page's socket to a plain bridge", () => {
    expect(failoverTargets('wss://a.example.com/ws', ['http://b.example.com', 'https://c.example.com:8443'])).toEqual(['wss://a.example.com/ws', 'wss://c.example.com:8443/ws']);
  });
});
