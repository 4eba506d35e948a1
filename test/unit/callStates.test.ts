// A call's states move only along the transition table (anything else is
// logged as a bug and refused), and the gateway's call registry holds calls
// to MAX_CALLS and MAX_CALLS_PER_ROOM and gives their RTP ports back. The
// registry runs here on loopback sockets with a stand-in SIP dialog and rooms
// that never open: no SIP engine, no bridge.
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../common/logger.ts';
import { PortPool } from '../../media/PortPool.ts';
import type { SipDialog } from '../../gateway/calls/Call.ts';
import { Calls, GatewayFullError, type CallMedia } from '../../gateway/calls/Calls.ts';
import { CallStates, type CallState } from '../../gateway/calls/callStates.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';
import type { Prompts } from '../../gateway/media/prompts.ts';
import { SdpError } from '../../gateway/media/sdp.ts';
import type { RoomLinks } from '../../gateway/room/RoomLinks.ts';
import { freePortRange } from '../helpers/ports.ts';

function fakeLogger() {
  const logger = { error: vi.fn(), warn: vi.fn(), info: vi.fn(), debug: vi.fn(), child: () => logger };
  return logger;
}

describe('call state transitions', () => {
  const walk = (...path: CallState[]) => {
    const logger = fakeLogger();
    const states = new CallStates('call-1', logger as unknown as Logger);
    const moved = path.map((state) => states.moveTo(state));
    return { states, moved, logger };
  };

  it.each<{ path: CallState[] }>([
    { path: ['joining', 'inRoom', 'ended'] }, // PIN (or room) then in the room, hung up
    { path: ['joining', 'ivr', 'joining', 'inRoom'] }, // wrong password, then the right one
    { path: ['ended'] }, // hung up at the prompt
    { path: ['joining', 'ended'] }, // hung up while joining
    { path: ['joining', 'ivr', 'ended'] },
    { path: ['joining', 'inLobby', 'inRoom', 'ended'] }, // knocked, admitted
    { path: ['joining', 'inLobby', 'ended'] }, // denied, timed out, or hung up while waiting
  ])('allows $path', ({ path }) => {
    const { states, moved, logger } = walk(...path);
    expect(moved.every(Boolean)).toBe(true);
    expect(states.current).toBe(path.at(-1));
    expect(logger.error).not.toHaveBeenCalled();
  });

  it.each<[CallState[], CallState]>([
    [[], 'inRoom'], // in the room without joining
    [[], 'ivr'],
    [['joining', 'inRoom'], 'joining'],
    [['joining', 'inRoom'], 'ivr'],
    [['ended'], 'ivr'],
    [['ended'], 'joining'],
    [[], 'inLobby'], // in the lobby without joining
    [['joining', 'inLobby'], 'ivr'], // a lobby's refusal ends the call, no second try
    [['joining', 'inLobby'], 'joining'],
    [['joining', 'inRoom'], 'inLobby'],
    [['ended'], 'ended'],
  ])('after %j refuses %s, logged as a bug', (before, to) => {
    const { states, logger } = walk(...before);
    const from = states.current;
    expect(states.moveTo(to)).toBe(false);
    expect(states.current).toBe(from);
    expect(logger.error).toHaveBeenCalledOnce();
    expect(logger.error).toHaveBeenCalledWith({ from, to, callId: 'call-1' }, expect.stringContaining('illegal call state transition'));
  });
});

const PHONE_OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=sendrecv',
  '',
].join('\r\n');

/** A stand-in for an established drachtio dialog: 'destroy' is the far end hanging up. */
class FakeDialog extends EventEmitter {
  static count = 0;
  readonly id = `dialog-${++FakeDialog.count}`;
  connected = true;
  readonly remote = { sdp: PHONE_OFFER };
  destroy(): void {
    this.connected = false;
  }
  hangUpFromPhone(): void {
    this.connected = false;
    this.emit('destroy');
  }
}

describe('call registry', () => {
  let calls: Calls | undefined;
  afterEach(async () => {
    await calls?.hangUpAll('test over');
    calls = undefined;
  });

  async function registry(env: Record<string, string>) {
    const rtpBase = await freePortRange(16);
    const config = loadGatewayConfig({ RTP_HOST: '127.0.0.1', RTP_PUBLIC_ADDRESS: '127.0.0.1', RTP_PORT_MIN: String(rtpBase), RTP_PORT_MAX: String(rtpBase + 15), ...env });
    const ports = new PortPool('127.0.0.1', rtpBase, rtpBase + 15);
    // Rooms that never finish opening: a joining call stays counted in its room.
    const rooms = { acquire: () => new Promise(() => {}), release: vi.fn() };
    const logger = fakeLogger();
    calls = new Calls({ config, prompts: {} as Prompts, rooms: rooms as unknown as RoomLinks, ports, logger: logger as unknown as Logger });
    return { calls, ports, rooms, logger };
  }
  const answered = (dialog = new FakeDialog()) => async (media: CallMedia) => {
    media.answer(PHONE_OFFER);
    return dialog as unknown as SipDialog;
  };
  const log = fakeLogger() as unknown as Logger;

  it('holds MAX_CALLS, taking no port for a refused call, and makes room when a call ends', async () => {
    const { calls, ports } = await registry({ MAX_CALLS: '2' });
    const first = new FakeDialog();
    await calls.open('a', answered(first), log);
    await calls.open('b', answered(), log);
    expect(calls.full).toBe(true);
    await expect(calls.open('c', answered(), log)).rejects.toBeInstanceOf(GatewayFullError);
    expect([calls.size, ports.inUse]).toEqual([2, 2]);

    first.hangUpFromPhone();
    expect([calls.size, ports.inUse, calls.full]).toEqual([1, 1, false]);
    await calls.open('c', answered(), log);
    expect(calls.size).toBe(2);
  });

  it('releases the ports of a call whose dialog never came about or is unusable', async () => {
    const { calls, ports } = await registry({});
    await expect(calls.open('a', () => Promise.reject(new Error('486 Busy Here')), log)).rejects.toThrow('486');
    const unusable = new FakeDialog();
    Object.assign(unusable.remote, { sdp: PHONE_OFFER.replace('RTP/AVP 0 101', 'RTP/AVP 9').replace('PCMU/8000', 'G722/8000') });
    await expect(calls.open('b', (media) => Promise.resolve((media.offer(), unusable) as unknown as SipDialog), log)).rejects.toBeInstanceOf(SdpError);
    expect(unusable.connected).toBe(false); // hung up, not left open
    expect([calls.size, ports.inUse]).toEqual([0, 0]);
  });

  it('holds MAX_CALLS_PER_ROOM, counting calls joining or in the room', async () => {
    const { calls, rooms } = await registry({ MAX_CALLS_PER_ROOM: '1' });
    const first = new FakeDialog();
    const a = await calls.open('a', answered(first), log);
    const b = await calls.open('b', answered(), log);
    void a.join('standup');
    expect([a.state, a.room]).toEqual(['joining', 'standup']);
    await expect(b.join('standup')).rejects.toThrow('MAX_CALLS_PER_ROOM');
    expect(b.state).toBe('ivr');
    void b.join('sales'); // another room has space

    first.hangUpFromPhone();
    expect(rooms.release).toHaveBeenCalledWith('standup');
    const c = await calls.open('c', answered(), log);
    void c.join('standup');
    expect(c.state).toBe('joining');
  });
});
