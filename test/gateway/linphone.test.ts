// linphone (Debian's linphone-cli 5.1), a softphone nobody here wrote, beside
// baresip: the main call paths with each codec and each DTMF method. In every
// case a baresip phone is already in the room playing one tone and linphone
// plays another; each must hear the other and not itself (the gateway mixes
// the room), and linphone's *6 must mute and unmute it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { readWav, toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { Linphone, type LinphoneCodec } from '../helpers/linphone.ts';
import { waitFor } from '../helpers/wait.ts';

const LINPHONE_TONE = 440;
const BARESIP_TONE = 880;

/** The last two seconds of a recording: the share of `frequency` in it. */
function heardShare(file: string, frequency: number): number {
  const heard = readWav(file);
  const tail = heard.samples.subarray(Math.max(0, heard.samples.length - heard.sampleRate * 2));
  return toneShare(tail, heard.sampleRate, frequency);
}

/**
 * Both tones' shares in each half second of a recording's last five, for a failed check to print: a
 * failure seen once under load (linphone heard 0.08 of baresip) said nothing of when the tone went.
 */
function byHalfSecond(file: string): string {
  const heard = readWav(file);
  const step = heard.sampleRate / 2;
  const windows: string[] = [];
  for (let end = heard.samples.length; end >= step && windows.length < 10; end -= step) {
    const part = heard.samples.subarray(end - step, end);
    windows.unshift(`${toneShare(part, heard.sampleRate, BARESIP_TONE).toFixed(2)}/${toneShare(part, heard.sampleRate, LINPHONE_TONE).toFixed(2)}`);
  }
  return `last 5 s by half second, baresip/linphone tone: ${windows.join(' ')}`;
}

describe('calls from linphone', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'linphone-calls-'));
  const linphoneWav = path.join(dir, 'linphone.wav');
  const baresipWav = path.join(dir, 'baresip.wav');

  beforeAll(async () => {
    writeToneWav(linphoneWav, LINPHONE_TONE, 120);
    writeToneWav(baresipWav, BARESIP_TONE, 120);
    bridge = await startBridge();
    gw = await startGateway(bridge, { IVR_DIGIT_TIMEOUT_SECONDS: '5' });
  });

  afterAll(async () => {
    await gw?.gateway.stop();
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases: { codec: LinphoneCodec; dtmf: 'rfc4733' | 'info'; path: 'pin' | 'room' }[] = [
    { codec: 'opus', dtmf: 'rfc4733', path: 'pin' },
    { codec: 'opus', dtmf: 'info', path: 'room' },
    { codec: 'PCMA', dtmf: 'rfc4733', path: 'room' },
    { codec: 'PCMA', dtmf: 'info', path: 'pin' },
    { codec: 'PCMU', dtmf: 'rfc4733', path: 'pin' },
    { codec: 'PCMU', dtmf: 'info', path: 'room' },
  ];

  it.each(cases)('$codec, DTMF by $dtmf, through the $path: heard and hears, *6 mutes and unmutes', async ({ codec, dtmf, path: via }) => {
    const room = `lp-${codec}-${dtmf}`.toLowerCase();
    const phones = () => (bridge.registry.get(room)?.visiblePeers() ?? []).filter((p) => p.kind === 'phone');
    const baresip = await Baresip.start({ microphone: baresipWav, codecs: 'PCMA' });
    const linphone = await Linphone.start({ microphone: linphoneWav, codec, dtmf });
    try {
      baresip.dial(gw.uri(room));
      await baresip.waitForEvent('CALL_ESTABLISHED');
      const first = await waitFor('baresip in the room', () => phones()[0], 15_000);

      expect(await linphone.dial(gw.uri(via === 'pin' ? '15550100' : room))).toBe('connected');
      if (via === 'pin') await linphone.sendDigits(`${bridge.registry.get(room)!.pin}#`);
      const caller = await waitFor('linphone in the room', () => phones().find((p) => p.id !== first.id), 20_000);
      // The bridge lists the peer a moment before the gateway's call learns its id.
      const call = await waitFor("linphone's call at the gateway", () => [...gw.gateway.calls].find((c) => c.peerId === caller.id));
      expect(call.rtp.remote.codec.name).toBe(codec);
      if (dtmf === 'rfc4733') expect(call.rtp.remote.telephoneEventPayloadType, 'telephone-event negotiated').toBeDefined();

      const micPaused = () => phones().find((p) => p.id === caller.id)?.producers[0]?.paused;
      await linphone.sendDigits('*6');
      await waitFor('linphone muted by *6', () => micPaused() === true);
      await linphone.sendDigits('*6');
      await waitFor('linphone unmuted by *6', () => micPaused() === false);

      await new Promise((resolve) => setTimeout(resolve, 3000)); // recording length for both phones, not a check
      await linphone.hangup();
      baresip.hangup();
      await baresip.waitForEvent('CALL_CLOSED');
      await waitFor('every RTP port released', () => gw.gateway.ports.inUse === 0 && gw.gateway.calls.size === 0);

      const [atLinphone, atBaresip] = [byHalfSecond(linphone.receivedWav()), byHalfSecond(baresip.receivedWav())];
      expect(heardShare(linphone.receivedWav(), BARESIP_TONE), `linphone hears baresip (${atLinphone})`).toBeGreaterThan(0.5);
      expect(heardShare(linphone.receivedWav(), LINPHONE_TONE), `linphone does not hear itself (${atLinphone})`).toBeLessThan(0.05);
      expect(heardShare(baresip.receivedWav(), LINPHONE_TONE), `baresip hears linphone (${atBaresip})`).toBeGreaterThan(0.5);
      expect(heardShare(baresip.receivedWav(), BARESIP_TONE), `baresip does not hear itself (${atBaresip})`).toBeLessThan(0.05);
    } finally {
      await linphone.stop();
      await baresip.stop();
    }
  });

  it('gets a clean 488 for a G.722-only offer', async () => {
    const linphone = await Linphone.start({ microphone: linphoneWav, codec: 'G722', dtmf: 'rfc4733' });
    try {
      expect(await linphone.dial(gw.uri('lp-g722'))).toBe('error');
      expect(gw.gateway.calls.size).toBe(0);
      expect(gw.gateway.ports.inUse).toBe(0);
    } finally {
      await linphone.stop();
    }
  });
});
