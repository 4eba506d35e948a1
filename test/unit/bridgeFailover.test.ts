// Where a room's clients go when its bridge dies: the order they try the
// other bridges in (bridge/directory/placement.ts rendezvousOrder, the same
// for every client of the room), and the signaling URLs a page tries, in
// order (web/src/lib/failoverTargets.ts); and how the bridge they reach
// judges the room's recorded home (bridge/directory/bridgeProbe.ts: its
// /healthz answer, one probe per bridge at a time).
import { describe, expect, it } from 'vitest';
import { BridgeVerdicts, isBridgeHealth, type ProbedBridge } from '../../bridge/directory/bridgeProbe.ts';
import { rendezvousOrder, takeoverTarget } from '../../bridge/directory/placement.ts';
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

describe('takeoverTarget', () => {
  const bridge = (id: string, load: number, capacity: number) => ({ id, url: `https://${id}.example.com`, load, capacity });

  it('takes the room over on the bridge the failover join reached, busier or not, while it takes rooms', () => {
    expect(takeoverTarget(bridge('here', 90, 100), [bridge('c', 0, 100)])?.id).toBe('here');
  });

  it('gives it to the least-loaded other bridge that takes rooms when this one drains or is full, or to none', () => {
    const others = [bridge('c', 50, 100), bridge('d', 10, 100), bridge('e', 0, 0)];
    expect(takeoverTarget(bridge('here', 0, 0), others)?.id).toBe('d');
    expect(takeoverTarget(bridge('here', 100, 100), others)?.id).toBe('d');
    expect(takeoverTarget(bridge('here', 0, 0), [bridge('e', 0, 0), bridge('f', 5, 5)])).toBeUndefined();
  });
});

describe('isBridgeHealth', () => {
  const health = (status: string, bridgeId?: string) => JSON.stringify({ status, bridgeId, rooms: 1 });

  it("takes a ready (2xx) or degraded (503) answer under the recorded home's id", () => {
    expect(isBridgeHealth(200, health('ok', 'a'), 'a')).toBe(true);
    expect(isBridgeHealth(503, health('degraded', 'a'), 'a')).toBe(true);
  });

  it('refuses a bridge restarted at the same URL (another id), one that says no id, and anything not a bridge', () => {
    expect(isBridgeHealth(200, health('ok', 'a-2'), 'a')).toBe(false);
    expect(isBridgeHealth(200, health('ok'), 'a')).toBe(false);
    expect(isBridgeHealth(502, health('ok', 'a'), 'a')).toBe(false);
    expect(isBridgeHealth(200, health('starting', 'a'), 'a')).toBe(false);
    expect(isBridgeHealth(200, '<html>Bad Gateway</html>', 'a')).toBe(false);
    expect(isBridgeHealth(200, 'null', 'a')).toBe(false);
  });
});

describe('BridgeVerdicts', () => {
  /** A probe whose answers the test gives, counting the probes made. */
  const probes = () => {
    const pending: ((alive: boolean) => void)[] = [];
    const made: ProbedBridge[] = [];
    const probe = (bridge: ProbedBridge) => {
      made.push(bridge);
      return new Promise<boolean>((resolve) => pending.push(resolve));
    };
    return { probe, pending, made };
  };
  const a = { id: 'a', url: 'https://a.example.com' };

  it('makes one probe for a burst of joins, and its verdict serves them and those of the next cacheMs', async () => {
    const { probe, pending, made } = probes();
    let now = 0;
    const verdicts = new BridgeVerdicts(probe, { cacheMs: 1000, max: 10, now: () => now });
    const burst = Array.from({ length: 20 }, () => verdicts.alive(a));
    expect(made).toHaveLength(1);
    pending[0]!(false);
    expect(await Promise.all(burst)).toEqual(Array(20).fill(false));
    now = 999;
    expect(await verdicts.alive(a)).toBe(false);
    expect(made).toHaveLength(1);
    now = 1000;
    const again = verdicts.alive(a);
    expect(made).toHaveLength(2);
    pending[1]!(true);
    expect(await again).toBe(true);
  });

  it('probes again for the same id at another URL, and for each bridge on its own', () => {
    const { probe, made } = probes();
    const verdicts = new BridgeVerdicts(probe, { cacheMs: 1000, max: 10, now: () => 0 });
    void verdicts.alive(a);
    void verdicts.alive({ id: 'a', url: 'https://a2.example.com' });
    void verdicts.alive({ id: 'b', url: 'https://b.example.com' });
    expect(made.map((bridge) => bridge.url)).toEqual(['https://a.example.com', 'https://a2.example.com', 'https://b.example.com']);
  });

  it('remembers at most max bridges, the oldest going first', () => {
    const { probe, made } = probes();
    const verdicts = new BridgeVerdicts(probe, { cacheMs: 1000, max: 2, now: () => 0 });
    for (const id of ['x', 'y', 'z', 'z', 'y', 'x']) void verdicts.alive({ id, url: `https://${id}.example.com` });
    // x went when z came; y and z are still remembered.
    expect(made.map((bridge) => bridge.id)).toEqual(['x', 'y', 'z', 'x']);
  });
});
