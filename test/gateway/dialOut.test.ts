// Dial-out: a participant (or REST) invites a phone number; the gateway
// rings it through the trunk (sipp playing the callee) and an answered callee
// joins the room. Ringing, answer, busy and no answer reach the inviter.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { DialOutCall } from '../../protocol/protocol.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { signalingUrl } from '../helpers/signaling.ts';
import { type SippProcess, startSippTrunk } from '../helpers/sipp.ts';
import { expectAck, expectBye, expectInvite, pause, playAudio, respond, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const NUMBER = '+15550100199';

describe('dial-out through a SIP trunk', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let trunkPort: number;
  let host: SignalingClient;
  const updates: DialOutCall[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ DIAL_OUT_ALLOWED_PREFIXES: '+1555' });
    trunkPort = await freePort();
    host = await SignalingClient.connect(signalingUrl(bridge.url));
    host.on('dialOutUpdated', ({ call }) => updates.push(call));
  });

  afterAll(async () => {
    host?.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });

  /** sipp answering as the trunk, one call: steps for a scenario, or a scenario file; bound before we dial. */
  const trunk = (name: string, steps?: string[]): Promise<SippProcess> => startSippTrunk(trunkPort, steps ? writeScenario(name, steps) : name);

  const callState = async (room: string, id: string) => {
    const response = await operatorFetch(`${bridge.url}/api/rooms/${room}/dial-out`);
    const { calls } = (await response.json()) as { calls: DialOutCall[] };
    return calls.find((c) => c.id === id);
  };

  it('refuses invitations while no gateway with a trunk is connected', async () => {
    await host.request('join', { room: 'sales', displayName: 'Host', kind: 'web' });
    const response = await operatorFetch(`${bridge.url}/api/rooms/sales/dial-out`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: NUMBER }),
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toMatch(/no SIP gateway/);
    await expect(host.request('dialOut', { number: 'call me' })).rejects.toMatchObject({ code: 'invalidData' });

    gw = await startGateway(bridge, { SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort}`, SIP_CALLER_ID: '15550100', DIAL_OUT_RING_SECONDS: '2' });
    await waitFor('the gateway offered for dial-out', () => bridge.dialOuts.available);
  });

  it('rings, and the answered callee joins the locked room and is heard; the inviter hangs up', async () => {
    await host.request('setRoomPassword', { password: '4321' });
    const callee = await trunk('answer', [
      expectInvite(`sip:${NUMBER}@127.0.0.1`),
      respond(180, 'Ringing'),
      pause(300),
      respond(200, 'OK'),
      expectAck,
      playAudio,
      expectBye(20_000),
    ]);
    const { call } = await host.request('dialOut', { number: '+1 555 010-0199' });
    expect(call).toMatchObject({ number: NUMBER, state: 'calling', requestedBy: 'Host' });

    const answered = await waitFor('answered', () => updates.find((u) => u.id === call.id && u.state === 'answered'), 15_000);
    expect(updates.filter((u) => u.id === call.id).map((u) => u.state).slice(0, 3)).toEqual(['calling', 'ringing', 'answered']);
    const room = bridge.registry.get('sales')!;
    const phone = room.visiblePeers().find((p) => p.id === answered.peerId);
    expect(phone).toMatchObject({ kind: 'phone', displayName: NUMBER });
    await waitFor('the callee heard in the room', async () => {
      const producer = [...(room.getPeer(answered.peerId!)?.producers.values() ?? [])][0];
      return (await producer?.getStats())?.some((s) => s.packetCount > 50) ?? false;
    });

    await host.request('cancelDialOut', { callId: call.id });
    const ended = await waitFor('ended', () => updates.find((u) => u.id === call.id && u.state === 'ended'));
    expect(ended.reason).toBe('hung up by the inviter');
    expect((await callee.done).code).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0 && !room.visiblePeers().some((p) => p.kind === 'phone'));
    await host.request('setRoomPassword', { password: null });
  });

  it('reports busy to a REST inviter', async () => {
    const callee = await trunk('busy', [expectInvite(`sip:${NUMBER}@`), respond(486, 'Busy Here'), expectAck]);
    const response = await operatorFetch(`${bridge.url}/api/rooms/sales/dial-out`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: NUMBER }),
    });
    expect(response.status).toBe(202);
    const { call } = (await response.json()) as { call: DialOutCall };
    const busy = await waitFor('busy', async () => {
      const current = await callState('sales', call.id);
      return current?.state === 'busy' ? current : undefined;
    });
    expect(busy.reason).toBe('486 Busy Here');
    expect((await callee.done).code).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('gives up after the ring timeout and reports no answer', async () => {
    const callee = await trunk(path.join(import.meta.dirname, 'scenarios', 'uas-ring-cancel.xml'));
    const { call } = await host.request('dialOut', { number: NUMBER });
    const noAnswer = await waitFor('no answer', () => updates.find((u) => u.id === call.id && u.state === 'noAnswer'), 10_000);
    expect(noAnswer.reason).toBe('no answer within 2 s');
    expect(updates.some((u) => u.id === call.id && u.state === 'ringing')).toBe(true);
    expect((await callee.done).code).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });
});
