// Who may call in and who may skip the PIN (issue 15, item 2): only trusted
// trunks (SIP_TRUNK_SOURCES) route by X-Room or DID; a room's URI lets a
// caller straight in only in an open bridge's room without a lobby.
import type Srf from 'drachtio-srf';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { roomUriOpens, routeCall } from '../../gateway/calls/routing.ts';
import { createInboundGuard } from '../../gateway/calls/trunkSecurity.ts';
import { loadGatewayConfig } from '../../gateway/config.ts';

const { inbound } = loadGatewayConfig({ SIP_DID_ROOMS: '+15550199=sales' });
const route = (calledNumber: string, options: { roomHeader?: string; fromTrunk: boolean }) =>
  routeCall({ calledNumber, roomHeader: options.roomHeader, fromTrunk: options.fromTrunk }, inbound);

describe('call routing', () => {
  it('follows a trunk X-Room header and DID straight into the room', () => {
    expect(route('15550199', { fromTrunk: true })).toEqual({ kind: 'room', room: 'sales' });
    expect(route('15550100', { roomHeader: 'board', fromTrunk: true })).toEqual({ kind: 'room', room: 'board' });
    expect(route('15550100', { roomHeader: 'no spaces', fromTrunk: true })).toMatchObject({ kind: 'unknown' });
  });

  it('sends anyone else with an X-Room header or a DID to the PIN prompt', () => {
    expect(route('15550199', { fromTrunk: false })).toEqual({ kind: 'ivr' });
    expect(route('+15550199', { roomHeader: 'board', fromTrunk: false })).toEqual({ kind: 'ivr' });
    // Their header is ignored: the request URI alone decides (here a room's name, under that room's rules).
    expect(route('standup', { roomHeader: 'board', fromTrunk: false })).toEqual({ kind: 'roomUri', room: 'standup' });
  });

  it('routes numbers to the PIN prompt and room names to their room rules, from anyone', () => {
    for (const fromTrunk of [true, false]) {
      expect(route('+15550100', { fromTrunk })).toEqual({ kind: 'ivr' });
      expect(route('', { fromTrunk })).toEqual({ kind: 'ivr' });
      expect(route('standup', { fromTrunk })).toEqual({ kind: 'roomUri', room: 'standup' });
      expect(route('no spaces allowed', { fromTrunk })).toMatchObject({ kind: 'unknown' });
      expect(route('%E0%A4%A', { fromTrunk })).toMatchObject({ kind: 'unknown' }); // malformed escape
    }
  });

  it("lets a room's URI in only where anyone may enter: AUTH_MODE=open and no lobby", () => {
    expect(roomUriOpens({ authMode: 'open', lobby: false })).toBe(true);
    expect(roomUriOpens({ authMode: 'open', lobby: true })).toBe(false);
    expect(roomUriOpens({ authMode: 'token', lobby: false })).toBe(false);
    expect(roomUriOpens({ authMode: 'secure', lobby: false })).toBe(false);
    expect(roomUriOpens({ authMode: undefined, lobby: false })).toBe(false); // the bridge not reached: ask
  });
});

describe('inbound guard', () => {
  /** An INVITE from `address` without credentials, and the status the guard answered (if it did). */
  const admitted = async (env: Record<string, string>, address: string) => {
    const guard = createInboundGuard(loadGatewayConfig(env).inbound, createLogger('silent', 'test'));
    let status: number | undefined;
    const req = { source_address: address, method: 'INVITE', uri: 'sip:standup@192.0.2.10', has: () => false, get: () => undefined };
    const res = { send: (code: number) => void (status = code) };
    const ok = await guard.admit(req as unknown as Srf.SrfRequest, res as unknown as Srf.SrfResponse);
    return { ok, status, trunk: guard.isTrunk(address) };
  };

  it('trusts loopback as a trunk by default, and lets the private ranges call in without skipping the PIN', async () => {
    expect(await admitted({}, '127.0.0.1')).toEqual({ ok: true, status: undefined, trunk: true });
    expect(await admitted({}, '::1')).toEqual({ ok: true, status: undefined, trunk: true });
    for (const lan of ['10.1.2.3', '172.20.0.5', '192.168.1.20']) {
      expect(await admitted({}, lan)).toEqual({ ok: true, status: undefined, trunk: false });
    }
    expect(await admitted({}, '203.0.113.9')).toEqual({ ok: false, status: 403, trunk: false });
  });

  it('admits SIP_TRUNK_SOURCES even outside SIP_ALLOWED_SOURCES, and only they are trunks', async () => {
    const env = { SIP_TRUNK_SOURCES: '198.51.100.0/24', SIP_ALLOWED_SOURCES: '10.0.0.0/8' };
    expect(await admitted(env, '198.51.100.7')).toEqual({ ok: true, status: undefined, trunk: true });
    expect(await admitted(env, '10.0.0.1')).toEqual({ ok: true, status: undefined, trunk: false });
    expect(await admitted(env, '127.0.0.1')).toEqual({ ok: false, status: 403, trunk: false });
  });

  it('challenges a caller from elsewhere when digest credentials are set', async () => {
    const env = { SIP_ALLOWED_SOURCES: '10.0.0.0/8', SIP_AUTH_USERNAME: 'pbx', SIP_AUTH_PASSWORD: 'pass-1234' };
    expect(await admitted(env, '203.0.113.9')).toEqual({ ok: false, status: 401, trunk: false });
  });
});
