// Calls from sipp (Debian's sip-tester) through the gateway's embedded SIP
// engine: the PIN by SIP INFO, wrong PINs, locked rooms, moderator mute,
// refused sources, and a caller who vanishes without a BYE.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { PeerInfo } from '../../protocol/protocol.ts';
import { SignalingClient } from '../../protocol/SignalingClient.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, withGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { digestAnswer, RawUac } from '../helpers/rawUac.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { startSipp } from '../helpers/sipp.ts';
import { audioOffer, bye, expectBye, infoDigit, invite, inviteWithDigest, optionsPing, pause, playAudio, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

describe('calls from sipp', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let host: SignalingClient;

  beforeAll(async () => {
    bridge = await startBridge();
    gw = await startGateway(bridge, { IVR_DIGIT_TIMEOUT_SECONDS: '3' });
    // Someone must be in the room for its PIN to exist.
    host = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    await host.request('join', { room: 'board', displayName: 'Host' });
  });

  afterAll(async () => {
    host?.close();
    await gw?.gateway.stop();
    await bridge?.stop();
  });


  const sipp = async (name: string, steps: string[], extra: { service?: string; to?: TestGateway; args?: string[] } = {}) =>
    startSipp({
      scenario: writeScenario(name, steps),
      remote: `127.0.0.1:${(extra.to ?? gw).sipPort}`,
      localPort: await freePort(),
      calls: 1,
      timeoutSeconds: 30,
      args: ['-s', extra.service ?? '15550100', '-mp', String(await freePort()), ...(extra.args ?? [])],
    });

  /** Why the gateway ends the call it is about to receive (or has just received). */
  const endReasonOfNextCall = async (at = gw): Promise<string> => {
    // Polled without a pause: a call removed at once can live only a few milliseconds.
    const call = await waitFor('a call at the gateway', () => [...at.gateway.calls][0], 10_000, 0);
    return new Promise((resolve) => call.once('ended', resolve));
  };

  it('joins the room with a PIN sent as SIP INFO, and sends audio', async () => {
    const pin = bridge.registry.get('board')!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    const call = await sipp('pin-by-info', [invite(), ...digits, playAudio, pause(4000), bye(20)]);
    const phone = await waitFor('the caller in the room', () =>
      bridge.registry.get('board')?.visiblePeers().find((p) => p.kind === 'phone'),
    15_000);
    expect(phone.displayName).toContain('+15551230123');
    // The caller's audio reaches the room: its producer's packets are counted by the bridge.
    const room = bridge.registry.get('board')!;
    await waitFor('audio from the caller in the room', async () => {
      const peer = [...room.peers].find((p) => p.kind === 'phone');
      const producer = peer && [...peer.producers.values()][0];
      const stats = producer ? await producer.getStats() : [];
      return stats.some((s) => s.packetCount > 50);
    });
    const result = await call.done;
    expect(result.code, result.stderr).toBe(0);
    await waitFor('the caller gone and its ports released', () =>
      !room.visiblePeers().some((p) => p.kind === 'phone') && gw.gateway.ports.inUse === 0,
    );
  });

  it('says goodbye and hangs up after three wrong PINs', async () => {
    const wrong = (attempt: number) => ['0', '0', '0', '#'].map((d, i) => infoDigit(d, 2 + attempt * 4 + i));
    const call = await sipp('wrong-pin', [invite(), ...wrong(0), pause(500), ...wrong(1), pause(500), ...wrong(2), expectBye(20_000)]);
    expect(await endReasonOfNextCall()).toBe('no valid PIN entered');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    expect(bridge.registry.get('board')!.visiblePeers().some((p) => p.kind === 'phone')).toBe(false);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('hangs up on a caller who never types anything', async () => {
    const call = await sipp('silent-ivr', [invite(), playAudio, expectBye(30_000)]);
    expect(await endReasonOfNextCall()).toBe('no valid PIN entered');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it.each([
    // The caller is visible from its join on, while the gateway still sets up its audio.
    { when: 'while it joins', inRoom: (peer: PeerInfo) => peer.kind === 'phone' },
    { when: 'once it is heard', inRoom: (peer: PeerInfo) => peer.kind === 'phone' && peer.producers.length > 0 },
  ])('hangs up a caller a moderator removes $when', async ({ inRoom }) => {
    const call = await sipp('removed', [invite(), playAudio, expectBye(15_000)], { service: 'board' });
    const reason = endReasonOfNextCall();
    const phone = await waitFor('the caller in the room', () => bridge.registry.get('board')?.visiblePeers().find(inRoom), 10_000, 0);
    const removed = await operatorFetch(`${bridge.url}/api/rooms/board/participants/${phone.id}`, { method: 'DELETE' });
    expect(removed.status).toBe(204);
    expect(await reason).toBe('removed by a moderator');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0);
  });

  it('times out a caller who vanishes (no RTP, no BYE) and cleans up', async () => {
    await withGateway(bridge, { RTP_TIMEOUT_SECONDS: '2' }, async (quick) => {
      const call = await sipp('vanish', [invite(), expectBye(15_000)], { service: 'board', to: quick });
      const reason = endReasonOfNextCall(quick);
      await waitFor('the caller in the room', () => bridge.registry.get('board')?.visiblePeers().some((p) => p.kind === 'phone'));
      expect(await reason).toBe('no RTP from the caller');
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
      await waitFor('the caller removed and ports released', () =>
        !bridge.registry.get('board')!.visiblePeers().some((p) => p.kind === 'phone') && quick.gateway.ports.inUse === 0,
      );
    });
  });

  /** The bridge's packet count on the phone caller's producer in `room`. */
  const phonePackets = async (room: string): Promise<{ paused: boolean; packets: number } | undefined> => {
    const peer = [...(bridge.registry.get(room)?.peers ?? [])].find((p) => p.kind === 'phone');
    const producer = peer && [...peer.producers.values()][0];
    if (!producer) return undefined;
    const stats = await producer.getStats();
    return { paused: producer.paused, packets: stats.reduce((sum, s) => sum + s.packetCount, 0) };
  };

  it('a moderator mutes a phone caller (its audio stops reaching the room) and *6 unmutes', async () => {
    const call = await sipp('moderator-mute', [invite(), playAudio, pause(7000), infoDigit('*', 2), infoDigit('6', 3), playAudio, pause(4000), bye(4)], {
      service: 'board',
    });
    const phone = await waitFor('the caller sending audio', async () => {
      const peer = bridge.registry.get('board')?.visiblePeers().find((p) => p.kind === 'phone');
      return peer && ((await phonePackets('board'))?.packets ?? 0) > 20 ? peer : undefined;
    });
    const updates: boolean[] = [];
    host.on('peerUpdated', ({ peer }) => peer.id === phone.id && updates.push(peer.producers[0]?.paused ?? false));
    await host.request('muteParticipant', { peerId: phone.id });
    expect((await phonePackets('board'))?.paused).toBe(true);
    await waitFor('the host sees the caller muted', () => updates.includes(true));
    // The gateway stops forwarding: the count holds still across a second.
    let last = -1;
    await waitFor('no more packets from the muted caller', async () => {
      const { packets } = (await phonePackets('board'))!;
      const still = packets === last;
      last = packets;
      return still;
    }, 5000, 1000);
    // The caller presses *6 and is heard again.
    await waitFor('unmuted by *6', async () => (await phonePackets('board'))?.paused === false, 10_000);
    await waitFor('packets again', async () => ((await phonePackets('board'))?.packets ?? 0) > last + 20);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('asks for the password of a locked room, re-prompts after a wrong one, then lets the caller in', async () => {
    const owner = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    try {
      await owner.request('join', { room: 'vault', displayName: 'Owner' });
      await owner.request('setRoomPassword', { password: '2468' });
      const typed = (digits: string, cseq: number) => [...digits, '#'].map((d, i) => infoDigit(d, cseq + i));
      const call = await sipp('locked', [invite(), pause(1000), ...typed('1111', 2), pause(1500), ...typed('2468', 7), playAudio, pause(2000), bye(20)], {
        service: 'vault',
      });
      await waitFor('the caller in the locked room', () => bridge.registry.get('vault')?.visiblePeers().some((p) => p.kind === 'phone'), 15_000);
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
    } finally {
      owner.close();
    }
  });

  it('hangs up after three wrong passwords', async () => {
    const owner = await SignalingClient.connect(bridge.url.replace('http', 'ws') + '/ws');
    try {
      await owner.request('join', { room: 'safe', displayName: 'Owner' });
      await owner.request('setRoomPassword', { password: '2468' });
      const wrong = (attempt: number) => ['9', '9', '9', '9', '#'].map((d, i) => infoDigit(d, 2 + attempt * 5 + i));
      const call = await sipp('locked-wrong', [invite(), pause(1000), ...wrong(0), pause(1000), ...wrong(1), pause(1000), ...wrong(2), expectBye(20_000)], {
        service: 'safe',
      });
      expect(await endReasonOfNextCall()).toBe('no valid password entered');
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
      expect(bridge.registry.get('safe')!.visiblePeers().some((p) => p.kind === 'phone')).toBe(false);
    } finally {
      owner.close();
    }
  });

  it('cleans up after a caller who hangs up during the IVR prompt', async () => {
    const call = await sipp('bye-in-ivr', [invite(), pause(800), bye(2)]);
    expect(await endReasonOfNextCall()).toBe('caller hung up');
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('ports released', () => gw.gateway.ports.inUse === 0 && gw.gateway.calls.size === 0);
  });

  it('answers 488 to unusable SDP (garbage, no common codec) and keeps taking calls', async () => {
    const offers = [
      'this is not SDP at all',
      audioOffer(['9 G722/8000']),
      'v=0\n      o=- 1 1 IN IP4 127.0.0.1\n      s=-\n      c=IN IP4 127.0.0.1\n      t=0 0\n      m=audio 4000 RTP/AVP 18\n      a=rtpmap:18 G729/8000',
      'v=0\n      o=- 1 1 IN IP4 127.0.0.1\n      s=-\n      t=0 0\n      m=video 4000 RTP/AVP 96',
    ];
    for (const [i, sdp] of offers.entries()) {
      const result = await (await sipp(`bad-sdp-${i}`, [invite(488, sdp)], { service: 'board' })).done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
    }
    expect(gw.gateway.ports.inUse).toBe(0);
    const good = await (await sipp('after-bad-sdp', [invite(), playAudio, pause(1000), bye(2)], { service: 'board' })).done;
    expect(good.code, good.stdout.slice(-2000)).toBe(0);
  });

  // The codec and DTMF matrix in real calls (the SDP side in detail: codecMatrix.test.ts).
  const OPUS = '111 opus/48000/2';
  const EVENTS_48K = '101 telephone-event/48000';
  const EVENTS_8K = '100 telephone-event/8000';
  it.each([
    { offer: [OPUS, EVENTS_48K], answer: 'telephone-event/48000' },
    { offer: ['0 PCMU/8000', '8 PCMA/8000', EVENTS_8K], answer: 'telephone-event/8000' },
    { offer: [EVENTS_8K, OPUS, '0 PCMU/8000', EVENTS_48K], answer: 'a=rtpmap:101 telephone-event/48000' },
  ])('codec matrix: answers $offer with $answer', async ({ offer, answer }) => {
    const result = await (await sipp('answer', [invite(200, audioOffer(offer), answer), bye(2)], { service: 'board' })).done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('every RTP port released', () => gw.gateway.ports.inUse === 0);
  });

  it('codec matrix: PCMA only, no telephone-event: the PIN by SIP INFO still lets the caller in', async () => {
    const pin = bridge.registry.get('board')!.pin;
    const digits = [...pin, '#'].map((digit, i) => infoDigit(digit, 2 + i));
    // The call lasts three seconds past the PIN: time enough to be seen in the room.
    const call = await sipp('info-only', [invite(200, audioOffer(['8 PCMA/8000'])), ...digits, pause(3000), bye(2 + digits.length)]);
    await waitFor('the caller in the room', () => bridge.registry.get('board')?.visiblePeers().some((p) => p.kind === 'phone'), 15_000);
    const result = await call.done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
    await waitFor('every RTP port released', () => gw.gateway.ports.inUse === 0);
  });

  it("answers a trunk's OPTIONS ping", async () => {
    const result = await (await sipp('options', [optionsPing()])).done;
    expect(result.code, result.stdout.slice(-2000)).toBe(0);
  });

  it('refuses callers from sources that are not allowed with 403', async () => {
    await withGateway(bridge, { SIP_ALLOWED_SOURCES: '10.99.0.0/16', SIP_TRUNK_SOURCES: '10.98.0.0/16' }, async (strict) => {
      const call = await sipp('forbidden', [invite(403)], { service: 'board', to: strict });
      const result = await call.done;
      expect(result.code, result.stdout.slice(-2000)).toBe(0);
      expect(strict.gateway.calls.size).toBe(0);
    });
  });

  it('lets a caller from elsewhere in with the digest credentials (a stale nonce re-challenged), refuses wrong ones, and a replayed header', async () => {
    const env = { SIP_ALLOWED_SOURCES: '10.99.0.0/16', SIP_TRUNK_SOURCES: '10.98.0.0/16', SIP_AUTH_USERNAME: 'pbx', SIP_AUTH_PASSWORD: 'pass-1234', SIP_AUTH_NONCE_TTL_SECONDS: '5' };
    await withGateway(bridge, env, async (guarded) => {
      const authUri = ['-auth_uri', `board@127.0.0.1:${guarded.sipPort}`]; // sipp puts sip: in front
      // The caller answers the first challenge 6 s late: stale=true, a fresh nonce, and in.
      const admitted = await sipp('digest-ok', [inviteWithDigest(200, { staleAfterMs: 6000 }), playAudio, expectBye(15_000)], {
        service: 'board',
        to: guarded,
        args: ['-au', 'pbx', '-ap', 'pass-1234', ...authUri],
      });
      const phone = await waitFor(
        'the authenticated caller in the room',
        () => bridge.registry.get('board')?.visiblePeers().find((p) => p.kind === 'phone'),
        20_000,
      );
      await operatorFetch(`${bridge.url}/api/rooms/board/participants/${phone.id}`, { method: 'DELETE' });
      const result = await admitted.done;
      expect(result.code, result.stderr).toBe(0);
      const refused = await (await sipp('digest-bad', [inviteWithDigest(403)], { service: 'board', to: guarded, args: ['-au', 'pbx', '-ap', 'guess', ...authUri] })).done;
      expect(refused.code, refused.stderr + refused.stdout.slice(-600)).toBe(0);

      // A captured Authorization header, sent again in a new call: challenged, not let in.
      const uac = await RawUac.open(guarded.sipPort);
      try {
        const challenge = await uac.invite('board');
        expect(challenge.status).toBe(401);
        const authorization = digestAnswer(challenge.headers['www-authenticate']!, 'INVITE', uac.uri('board'), 'pbx', 'pass-1234');
        const first = await uac.invite('board', authorization);
        expect(first.status).toBe(200);
        await uac.bye(first);
        const replayed = await uac.invite('board', authorization);
        expect(replayed.status).toBe(401);
      } finally {
        uac.close();
      }
      await waitFor('no call left', () => guarded.gateway.calls.size === 0 && guarded.gateway.ports.inUse === 0);
    });
  });
});
