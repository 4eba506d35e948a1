// End-to-end encrypted meetings at the bridge (issue 16, items 3 and 4): a
// moderator turns E2EE on only while everyone present can hold keys; while it
// is on, phones, recorders and browsers that cannot encrypt stay out, and
// dial-out, recording and streaming are refused with the reason, over
// signaling and REST. The clients' key messages are handed on unread, to the
// one participant named, and never reach the bridge's log.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { operatorFetch } from '../helpers/rest.ts';
import { joinRoom, type Joined } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

const SECRET_PAYLOAD = 'wrapped-key:Zm9yIEJvYiBvbmx5LCBuZXZlciB0aGUgYnJpZGdl';

describe('end-to-end encrypted meetings at the bridge', () => {
  let bridge: Bridge;
  let log = '';
  const joined: Joined[] = [];
  const join = async (...args: Parameters<typeof joinRoom>) => {
    const peer = await joinRoom(...args);
    joined.push(peer);
    return peer;
  };
  const capable = { e2eeCapable: true };
  const byName = (name: string) => joined.find((p) => p.joined.room === 'secret' && p.client && name === displayNameOf(p))!;
  const displayNameOf = (p: Joined) => bridge.registry.get(p.joined.room)?.getPeer(p.joined.peerId)?.displayName;

  beforeAll(async () => {
    // Everything the bridge logs, at debug, to look for key material in.
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((log += chunk.toString()), done()) });
    bridge = await startBridge({ DIAL_OUT_ALLOWED_PREFIXES: '+1555' }, pino({ level: 'debug' }, sink));
  });

  afterAll(async () => {
    for (const peer of joined) peer.client.close();
    await bridge?.stop();
  });

  it('turns on only while everyone can hold keys, then keeps out phones, recorders and browsers that cannot encrypt', async () => {
    const alice = await join(bridge.url, 'secret', 'Alice', 'web', capable);
    const bob = await join(bridge.url, 'secret', 'Bob', 'web', capable);
    expect(alice.joined.e2ee).toBe(false);
    const phone = await join(bridge.url, 'secret', '+15550100123');
    await expect(alice.client.request('setE2ee', { enabled: true })).rejects.toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('the phone caller +15550100123 cannot hold keys'),
    });
    await expect(bob.client.request('setE2ee', { enabled: true })).rejects.toMatchObject({ code: 'forbidden', message: expect.stringContaining('only moderators') });
    phone.client.request('leave', {});
    await waitFor('the phone to leave', () => bridge.registry.get('secret')?.visiblePeers().length === 2);

    await alice.client.request('setE2ee', { enabled: true });
    await waitFor('Bob told', () => bob.notificationsOf('e2eeChanged').find((n) => n.enabled && n.by === 'Alice'));

    await expect(joinRoom(bridge.url, 'secret', '+15550100124')).rejects.toMatchObject({
      code: 'encrypted',
      message: expect.stringContaining('This meeting is end-to-end encrypted and cannot be joined by phone.'),
    });
    await expect(joinRoom(bridge.url, 'secret', 'Recorder', 'recorder')).rejects.toMatchObject({ code: 'encrypted', message: expect.stringContaining('by a recorder') });
    await expect(joinRoom(bridge.url, 'secret', 'Old browser', 'web')).rejects.toMatchObject({ code: 'encrypted', message: expect.stringContaining('no encoded transforms') });
    const carol = await join(bridge.url, 'secret', 'Carol', 'web', capable);
    expect(carol.joined.e2ee).toBe(true);
    expect(bridge.registry.get('secret')!.visiblePeers().map((p) => p.displayName)).toEqual(['Alice', 'Bob', 'Carol']);

    // Each says when it sends encrypted media; everyone sees it by the name.
    await bob.client.request('setEncrypting', { encrypting: true });
    await waitFor('Alice to see Bob encrypting', () => alice.notificationsOf('peerUpdated').find((n) => n.peer.displayName === 'Bob' && n.peer.encrypting));
  });

  it('refuses dial-out, recording and streaming while on, with the reason, over signaling and REST', async () => {
    const room = 'secret';
    const alice = byName('Alice');
    await expect(alice.client.request('dialOut', { number: '+15550100199' })).rejects.toMatchObject({ code: 'encrypted', message: expect.stringContaining('inviting a phone is not possible') });
    await expect(alice.client.request('startRecording', { file: true })).rejects.toMatchObject({ code: 'encrypted', message: expect.stringContaining('recording is not possible') });
    await expect(alice.client.request('startRecording', { file: false, streams: ['rtmp://live.example.com/app/key'] })).rejects.toMatchObject({
      code: 'encrypted',
      message: expect.stringContaining('streaming is not possible'),
    });
    const dialOut = await operatorFetch(`${bridge.url}/api/rooms/${room}/dial-out`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ number: '+15550100199' }),
    });
    expect([dialOut.status, ((await dialOut.json()) as { error: string }).error]).toEqual([409, expect.stringContaining('end-to-end encrypted')]);
    const recording = await operatorFetch(`${bridge.url}/api/rooms/${room}/recordings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file: true }),
    });
    expect([recording.status, ((await recording.json()) as { error: string }).error]).toEqual([409, expect.stringContaining('end-to-end encrypted')]);
    // The refused invitation is in the dial-out audit, with its rule.
    const audit = (await (await operatorFetch(`${bridge.url}/api/dial-outs`)).json()) as { attempts: { rule?: string; outcome: string }[] };
    expect(audit.attempts.filter((a) => a.rule === 'E2EE').map((a) => a.outcome)).toEqual(['refused', 'refused']);
  });

  it('hands a key message to the one participant named, unread and unlogged', async () => {
    const [alice, bob, carol] = ['Alice', 'Bob', 'Carol'].map((name) => byName(name));
    const bobId = bob.joined.peerId;
    await alice.client.request('sendE2eeMessage', { to: bobId, payload: SECRET_PAYLOAD });
    const got = await waitFor('Bob to get the key message', () => bob.notificationsOf('e2eeMessage')[0]);
    expect(got).toEqual({ from: alice.joined.peerId, payload: SECRET_PAYLOAD });
    expect(carol.notificationsOf('e2eeMessage')).toEqual([]);
    expect(alice.notificationsOf('e2eeMessage')).toEqual([]);
    // Only to another web participant of this room; and the size is capped.
    await expect(alice.client.request('sendE2eeMessage', { to: alice.joined.peerId, payload: 'x' })).rejects.toMatchObject({ code: 'notFound' });
    const stranger = await join(bridge.url, 'elsewhere', 'Mallory', 'web', capable);
    await expect(stranger.client.request('sendE2eeMessage', { to: bobId, payload: 'x' })).rejects.toMatchObject({ code: 'notFound' });
    await expect(alice.client.request('sendE2eeMessage', { to: bobId, payload: 'x'.repeat(4097) })).rejects.toMatchObject({ code: 'invalidData' });
    expect(log).toContain('end-to-end encryption changed');
    expect(log).not.toContain(SECRET_PAYLOAD);
    expect(log).not.toContain('Zm9yIEJvYiBvbmx5');
  });

  it('turned off, lets phones in again and dial-out and recording be asked for', async () => {
    const alice = byName('Alice');
    await alice.client.request('setE2ee', { enabled: false });
    await waitFor('Carol told', () => byName('Carol').notificationsOf('e2eeChanged').find((n) => !n.enabled));
    const phone = await join(bridge.url, 'secret', '+15550100125');
    expect(phone.joined.e2ee).toBe(false);
    // No gateway here: past the E2EE check, dial-out is refused for that reason instead.
    await expect(alice.client.request('dialOut', { number: '+15550100199' })).rejects.toMatchObject({ code: 'unavailable' });
  });
});
