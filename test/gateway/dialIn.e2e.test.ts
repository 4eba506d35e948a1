// Dial-in end to end: a real softphone (baresip) calls the gateway's
// embedded SIP engine, enters the room's PIN at the IVR, and talks with a
// headless Chromium participant. Each side plays its own tone; each must hear
// the other's (and the phone must not hear itself).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import { readWav, toneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { joinThroughUi, launchBrowser } from '../helpers/browser.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { freePort } from '../helpers/ports.ts';
import { startSipp } from '../helpers/sipp.ts';
import { expectAck, expectBye, expectInvite, pause, playAudio, respond, writeScenario } from '../helpers/sippScenario.ts';
import { waitFor } from '../helpers/wait.ts';

const PHONE_TONE = 440;
const BROWSER_TONE = 660;

/** Share of the phone participant's received audio at `frequency`, measured in the page with WebAudio. */
function browserHearsTone(page: Page, frequency: number): Promise<number> {
  return page.evaluate(async (frequency) => {
    const conference = window.conference!;
    const phone = [...conference.participants.value.values()].find((p) => p.kind === 'phone');
    const media = [...conference.remoteMedia.value.values()].find((m) => m.peerId === phone?.id && m.source === 'mic');
    if (!media) return -1;
    const context = new AudioContext({ sampleRate: 48000 });
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(new MediaStream([media.consumer.track])).connect(analyser);
    await new Promise((resolve) => setTimeout(resolve, 600)); // fill the analyser's window
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    await context.close();
    let total = 0;
    let atTone = 0;
    const toneBin = Math.round((frequency * analyser.fftSize) / 48000);
    for (let i = 1; i < bins.length; i++) {
      const power = 10 ** (bins[i]! / 10);
      total += power;
      if (Math.abs(i - toneBin) <= 2) atTone += power;
    }
    return total > 0 ? atTone / total : 0;
  }, frequency);
}

describe('dial-in', () => {
  let bridge: Bridge;
  let gw: TestGateway;
  let browser: Browser;
  let page: Page;
  let phone: Baresip;
  let trunkPort: number;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dial-in-'));

  beforeAll(async () => {
    writeToneWav(path.join(dir, 'phone.wav'), PHONE_TONE, 120);
    writeToneWav(path.join(dir, 'browser.wav'), BROWSER_TONE, 30, { sampleRate: 16000 });
    bridge = await startBridge({ DIAL_IN_NUMBERS: '+1 555 0100', DIAL_OUT_ALLOWED_PREFIXES: '+1555' });
    trunkPort = await freePort();
    gw = await startGateway(bridge, { IVR_DIGIT_TIMEOUT_SECONDS: '5', SIP_TRUNK_URI: `sip:127.0.0.1:${trunkPort}` });
    browser = await launchBrowser({ args: [`--use-file-for-fake-audio-capture=${path.join(dir, 'browser.wav')}`] });
    page = await browser.newPage();
    // Original sound: the browser's noise suppressor would remove a steady tone.
    await joinThroughUi(page, `${bridge.url}/standup?audioProcessing=off`, 'Alice');
    phone = await Baresip.start({ microphone: path.join(dir, 'phone.wav') });
  });

  afterAll(async () => {
    await phone?.stop();
    await browser?.close();
    await gw?.gateway.stop();
    await bridge?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lets a caller in with the PIN the web UI shows, and carries audio both ways', async () => {
    await page.waitForSelector('[data-testid=dial-in-pin]');
    const pin = await page.$eval('[data-testid=dial-in-pin]', (el) => el.textContent!);
    expect(pin).toMatch(/^[0-9]{6}$/);
    expect(await page.$eval('[data-testid=dial-in]', (el) => el.textContent)).toContain('+1 555 0100');

    phone.dial(gw.uri('15550100'));
    await phone.waitForEvent('CALL_ESTABLISHED');
    await phone.sendDigits(`${pin}#`);

    // The caller is listed with a phone icon.
    await page.click('#toggle-participants');
    await waitFor('the caller in the participant list', () =>
      [...(bridge.registry.get('standup')?.visiblePeers() ?? [])].find((p) => p.kind === 'phone'),
    15_000);
    await page.waitForSelector('[data-testid=participant][data-kind=phone]', { timeout: 10_000 });

    // The browser hears the phone's tone.
    const share = await waitFor('the browser to hear the phone tone', async () => {
      const value = await browserHearsTone(page, PHONE_TONE);
      return value > 0.5 ? value : null;
    }, 15_000);
    expect(share).toBeGreaterThan(0.5);
    expect(await browserHearsTone(page, BROWSER_TONE)).toBeLessThan(0.1);

    // *6 mutes: the room sees the caller's microphone off and hears nothing; *6 again unmutes.
    const phoneMicPaused = () =>
      (bridge.registry.get('standup')?.visiblePeers() ?? []).find((p) => p.kind === 'phone')?.producers[0]?.paused;
    await phone.sendDigits('*6');
    await waitFor('the caller to be muted', () => phoneMicPaused() === true);
    await waitFor('silence from the muted caller', async () => (await browserHearsTone(page, PHONE_TONE)) < 0.05);
    await phone.sendDigits('*6');
    await waitFor('the caller to be unmuted', () => phoneMicPaused() === false);
    await waitFor('the caller heard again', async () => (await browserHearsTone(page, PHONE_TONE)) > 0.5, 15_000);

    // Let the phone record a few seconds of the room, then hang up.
    const before = gw.gateway.ports.inUse;
    expect(before).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // recording length, not a check
    phone.hangup();
    await waitFor('the caller to leave the room', () =>
      !(bridge.registry.get('standup')?.visiblePeers() ?? []).some((p) => p.kind === 'phone'),
    10_000);
    await page.waitForSelector('[data-testid=participant][data-kind=phone]', { hidden: true, timeout: 10_000 });
    await waitFor('every RTP port to be released', () => gw.gateway.ports.inUse === 0 && gw.gateway.calls.size === 0);
    const room = bridge.registry.get('standup')!;
    expect(room.counts().peers).toBe(1); // only Alice: no phone peer, no gateway listener

    // What the phone heard: the browser's tone, not its own.
    await phone.waitForEvent('CALL_CLOSED');
    const heard = readWav(phone.receivedWav());
    const tail = heard.samples.subarray(Math.max(0, heard.samples.length - heard.sampleRate * 2));
    expect(toneShare(tail, heard.sampleRate, BROWSER_TONE)).toBeGreaterThan(0.3);
    expect(toneShare(tail, heard.sampleRate, PHONE_TONE)).toBeLessThan(0.05);
  });

  it('invites a phone from the participant list: ringing, in the meeting, hung up by the inviter', async () => {
    const callee = startSipp({
      scenario: writeScenario('callee', [
        expectInvite('sip:+15550100199@127.0.0.1'),
        respond(180, 'Ringing'),
        pause(1000),
        respond(200, 'OK'),
        expectAck,
        playAudio,
        expectBye(30_000),
      ]),
      localPort: trunkPort,
      calls: 1,
      timeoutSeconds: 40,
      args: ['-mp', String(await freePort())],
    });
    await page.waitForSelector('#invite-number');
    await page.type('#invite-number', '+1 555 010 0199');
    await page.click('#invite-button');
    await page.waitForSelector('[data-testid=invitation][data-state=ringing]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=invitation][data-state=answered]', { timeout: 10_000 });
    await page.waitForSelector('[data-testid=participant][data-kind=phone] ::-p-text(+15550100199)', { timeout: 10_000 });
    await page.click('[data-testid=invitation] button[aria-label^="Hang up"]');
    await page.waitForSelector('[data-testid=invitation][data-state=ended]', { timeout: 10_000 });
    expect((await callee.done).code).toBe(0);
    await waitFor('the callee gone and its ports released', () =>
      gw.gateway.ports.inUse === 0 && !(bridge.registry.get('standup')?.visiblePeers() ?? []).some((p) => p.kind === 'phone'),
    );
  });
});
