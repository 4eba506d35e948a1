import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import type { DialOutCall, NotificationName } from '../../protocol/protocol.ts';
import { DialOuts, type GatewayLink } from '../../bridge/dialOut/DialOuts.ts';
import type { Room } from '../../bridge/rooms/Room.ts';

/** As much of a room as its phone invitations touch, recording what it was told. */
class FakeRoom extends EventEmitter<{ closed: [] }> {
  readonly name = 'board';
  closed = false;
  readonly moderation = { password: '1234' as string | null };
  readonly told: DialOutCall[] = [];

  broadcast(name: NotificationName, data: { call: DialOutCall }): void {
    if (name === 'dialOutUpdated') this.told.push(data.call);
  }

  close(): void {
    this.closed = true;
    this.emit('closed');
  }
}

function setUp() {
  const dialOuts = new DialOuts(createLogger('silent', 'test'));
  const sent: { name: string; data: unknown }[] = [];
  const gateway: GatewayLink = {
    channel: { notify: (name, data) => sent.push({ name, data }), send: () => {}, disconnect: () => {} },
    name: 'gw',
    dialOut: true,
    trunkRegistration: null,
    active: new Set(),
  };
  dialOuts.addGateway(gateway);
  const fake = new FakeRoom();
  return { dialOuts, gateway, sent, fake, room: fake as unknown as Room };
}

describe('phone invitations', () => {
  it('asks a gateway to call, with the room password, and shows each state to the room', () => {
    const { dialOuts, gateway, sent, fake, room } = setUp();
    const call = dialOuts.start(room, 'Alice', '+15550100');
    expect(sent).toEqual([{ name: 'dialOutRequested', data: { callId: call.id, room: 'board', number: '+15550100', password: '1234' } }]);
    dialOuts.report(gateway, { callId: call.id, state: 'answered', peerId: 'phone-peer' });
    dialOuts.report(gateway, { callId: call.id, state: 'ended', reason: 'hung up' });
    expect(fake.told.map((c) => c.state)).toEqual(['calling', 'answered', 'ended']);
    expect(dialOuts.list(room)).toEqual([{ ...call, state: 'ended', reason: 'hung up', peerId: 'phone-peer' }]);
    expect(gateway.active.size).toBe(0);
    expect(() => dialOuts.cancel(room, call.id)).toThrow(expect.objectContaining({ code: 'notFound' }));
  });

  it('lists those under way and the latest 20 finished, most recently changed last', () => {
    const { dialOuts, gateway, room } = setUp();
    const ongoing = dialOuts.start(room, 'Alice', '+15550100');
    const finished = Array.from({ length: 22 }, (_, i) => {
      const call = dialOuts.start(room, 'Alice', `+1555020${i}`);
      dialOuts.report(gateway, { callId: call.id, state: 'busy' });
      return call.id;
    });
    dialOuts.report(gateway, { callId: ongoing.id, state: 'ringing' });
    expect(dialOuts.list(room).map((c) => c.id)).toEqual([...finished.slice(2), ongoing.id]);
  });

  it('fails what a departing gateway was calling', () => {
    const { dialOuts, gateway, room } = setUp();
    const call = dialOuts.start(room, 'Alice', '+15550100');
    dialOuts.removeGateway(gateway);
    expect(dialOuts.list(room)).toMatchObject([{ id: call.id, state: 'failed', reason: 'the SIP gateway disconnected' }]);
    expect(dialOuts.available).toBe(false);
    expect(() => dialOuts.start(room, 'Alice', '+15550100')).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });

  it('stops ringing into a closed room and forgets its list', () => {
    const { dialOuts, gateway, sent, fake, room } = setUp();
    const call = dialOuts.start(room, 'Alice', '+15550100');
    fake.close();
    expect(sent.at(-1)).toEqual({ name: 'dialOutCancelled', data: { callId: call.id } });
    dialOuts.report(gateway, { callId: call.id, state: 'cancelled' });
    expect(dialOuts.list(room)).toEqual([]);
    expect(fake.told.map((c) => c.state)).toEqual(['calling']);
    expect(() => dialOuts.start(room, 'Alice', '+15550100')).toThrow(expect.objectContaining({ code: 'notFound' }));
  });
});
