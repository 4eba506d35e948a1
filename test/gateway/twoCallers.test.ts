// Two phones in one room through a room URI (sip:huddle@gateway): each hears
// the other and not itself (the gateway mixes N-1 for every leg).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { readWav, toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { waitFor } from '../helpers/wait.ts';

describe('two callers', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  const phones: Baresip[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'two-callers-'));

  beforeAll(async () => {
    bridge = await startBridge();
    gw = await startGateway(bridge);
    for (const [name, frequency] of [['a', 440], ['b', 880]] as const) {
      writeToneWav(path.join(dir, `${name}.wav`), frequency, 120);
      phones.push(await Baresip.start({ microphone: path.join(dir, `${name}.wav`), codecs: name === 'a' ? 'PCMU' : 'PCMA' }));
    }
  });

  afterAll(async () => {
    for (const phone of phones) await phone.stop();
    await gw?.gateway.stop();
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('hear each other and not themselves, on different codecs', async () => {
    const [a, b] = phones as [Baresip, Baresip];
    a.dial(gw.uri('huddle'));
    await a.waitForEvent('CALL_ESTABLISHED');
    b.dial(gw.uri('huddle'));
    await b.waitForEvent('CALL_ESTABLISHED');
    await waitFor('both callers in the room', () =>
      (bridge.registry.get('huddle')?.visiblePeers() ?? []).filter((p) => p.kind === 'phone').length === 2,
    );
    await new Promise((resolve) => setTimeout(resolve, 3000)); // let both phones record the conversation, not a check
    a.hangup();
    b.hangup();
    await a.waitForEvent('CALL_CLOSED');
    await b.waitForEvent('CALL_CLOSED');
    await waitFor('every RTP port released', () => gw.gateway.ports.inUse === 0);
    await waitFor('the room closed with its last caller', () => !bridge.registry.get('huddle'));

    for (const [phone, own, other] of [[a, 440, 880], [b, 880, 440]] as const) {
      const heard = readWav(phone.receivedWav());
      const tail = heard.samples.subarray(Math.max(0, heard.samples.length - heard.sampleRate * 2));
      expect(toneShare(tail, heard.sampleRate, other), `the ${own} Hz phone hears ${other} Hz`).toBeGreaterThan(0.5);
      expect(toneShare(tail, heard.sampleRate, own), `the ${own} Hz phone does not hear itself`).toBeLessThan(0.02);
    }
  });
});
