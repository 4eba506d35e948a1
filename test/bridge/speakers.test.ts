import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { startBridge } from '../helpers/bridge.ts';
import { AUDIO_LEVEL_EXTENSION_ID, RtpSender } from '../helpers/rtp.ts';
import { joinRoom } from '../helpers/signaling.ts';
import { waitFor } from '../helpers/wait.ts';

describe('active speaker and audio levels', () => {
  let bridge: Bridge;
  const senders: RtpSender[] = [];

  beforeAll(async () => {
    bridge = await startBridge({ MEDIA_WORKERS: '1' });
  });
  afterAll(async () => {
    for (const s of senders) s.close();
    await bridge?.stop();
  });

  /** A service peer whose audio carries a fixed RFC 6464 level (-dBov). */
  async function speaker(name: string, levelDbov: number, ssrc: number) {
    const peer = await joinRoom(bridge.url, 'talk', name);
    const transport = await peer.client.request('createPlainTransport', { comedia: true });
    const sender = new RtpSender();
    senders.push(sender);
    await sender.bind();
    sender.start({ ip: transport.ip, port: transport.port }, { payloadType: 100, ssrc, audioLevel: levelDbov });
    await peer.client.request('produce', {
      transportId: transport.id,
      kind: 'audio',
      source: 'mic',
      rtpParameters: {
        codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
        headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: AUDIO_LEVEL_EXTENSION_ID }],
        encodings: [{ ssrc }],
      },
    });
    return peer;
  }

  it('names the loudest peer as active speaker and reports everyone’s level', async () => {
    const watcher = await joinRoom(bridge.url, 'talk', 'Watcher', 'web');
    const levels: { peerId: string; volume: number }[][] = [];
    watcher.client.on('audioLevels', (data) => levels.push(data.levels));
    const quiet = await speaker('Quiet', 55, 5001);
    const loud = await speaker('Loud', 8, 5002);

    const active = await waitFor('an active speaker', () =>
      watcher.notificationsOf('activeSpeaker').find((n) => n.peerId === loud.joined.peerId),
    );
    expect(active.peerId).toBe(loud.joined.peerId);
    const both = await waitFor('levels of both speakers', () => levels.find((l) => l.length === 2));
    const volumeOf = (peerId: string) => both.find((l) => l.peerId === peerId)!.volume;
    expect(volumeOf(loud.joined.peerId)).toBeCloseTo(-8, 0);
    expect(volumeOf(quiet.joined.peerId)).toBeCloseTo(-55, 0);
    // Late joiners learn who is speaking from the join response.
    const late = await joinRoom(bridge.url, 'talk', 'Late', 'web');
    expect(late.joined.activeSpeakerId).toBe(loud.joined.peerId);
    for (const p of [watcher, quiet, loud, late]) p.client.close();
  });
});
