// A phone-only room recorded without a browser: two real SIP phones
// (baresip, 440 Hz and 880 Hz microphones) call in through the real gateway;
// an audio-only job mixes the room's audio from plain RTP into an m4a. The
// callers hear "This meeting is being recorded" when capture begins.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bridge } from '../../bridge/Bridge.ts';
import type { RecorderWorker } from '../../recorder/RecorderWorker.ts';
import { readWav, rms, toneShare, windowedToneShare, writeToneWav } from '../helpers/audio.ts';
import { Baresip } from '../helpers/baresip.ts';
import { startBridge } from '../helpers/bridge.ts';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { codecs, probe } from '../helpers/media.ts';
import { startRecorder } from '../helpers/recorder.ts';
import { recordingsApi } from '../helpers/recordings.ts';
import { TestRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

/** Energy that is not the 440 Hz tone, per half second of a recording. */
function otherThan440(samples: Float64Array, sampleRate: number, fromSeconds: number, toSeconds: number): number[] {
  const step = sampleRate / 2;
  const energies = [];
  for (let at = Math.max(0, Math.round(fromSeconds * sampleRate)); at + step <= Math.min(samples.length, toSeconds * sampleRate); at += step) {
    const window = samples.subarray(at, at + step);
    energies.push(rms(window) ** 2 * (1 - toneShare(window, sampleRate, 440)));
  }
  return energies;
}

describe('audio-only recording of a phone-only room', () => {
  let redis: TestRedis;
  let bridge: Bridge;
  let gw: TestGateway;
  let recorder: { worker: RecorderWorker; dir: string };
  const phones: Baresip[] = [];
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'audio-only-'));
  const room = 'phonebooth';

  beforeAll(async () => {
    redis = await TestRedis.start();
    bridge = await startBridge({ MEDIA_WORKERS: '1', REDIS_URL: redis.url, RECORDINGS_DIR: path.join(scratch, 'recordings') });
    gw = await startGateway(bridge);
    recorder = await startRecorder({ bridgeUrl: bridge.url, redisUrl: redis.url, dir: path.join(scratch, 'recordings') });
    for (const [name, frequency] of [['a', 440], ['b', 880]] as const) {
      writeToneWav(path.join(scratch, `${name}.wav`), frequency, 120);
      phones.push(await Baresip.start({ microphone: path.join(scratch, `${name}.wav`) }));
    }
  });

  afterAll(async () => {
    for (const phone of phones) await phone.stop();
    await recorder?.worker.stop();
    await gw?.gateway.stop();
    await bridge?.stop();
    await redis?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('mixes both callers into an m4a, and tells them they are recorded', async () => {
    const [a, b] = phones as [Baresip, Baresip];
    a.dial(gw.uri(room));
    await a.waitForEvent('CALL_ESTABLISHED');
    await waitFor('the first caller in the room', () => bridge.registry.get(room)?.visiblePeers().length === 1);
    b.dial(gw.uri(room));
    await b.waitForEvent('CALL_ESTABLISHED');
    const bAnsweredAt = Date.now();
    await waitFor('both callers in the room', () => bridge.registry.get(room)?.visiblePeers().length === 2);
    await new Promise((resolve) => setTimeout(resolve, 2500)); // a stretch of B hearing only A, to compare with

    const api = recordingsApi(bridge.url, room);
    const recording = await api.start({ audioOnly: true });
    expect(recording).toMatchObject({ mode: 'audio', file: true, state: 'queued' });
    const active = await waitFor('the audio recording to be active', async () => (await api.listing()).current.find((r) => r.state === 'active'), 20_000, 100);
    const activeAt = active.startedAt!; // when capture began, by this machine's clock
    await new Promise((resolve) => setTimeout(resolve, 6000)); // the length of call to record, not an assertion
    expect(await api.stop(recording.id)).toBe(204);
    const recordedFor = (Date.now() - activeAt) / 1000;
    const file = await waitFor('the m4a in the listing', async () => (await api.listing()).files.find((f) => f.id === recording.id), 20_000, 200);
    a.hangup();
    b.hangup();
    await b.waitForEvent('CALL_CLOSED');

    expect(file).toMatchObject({ mode: 'audio', stopReason: 'stopped', parts: 1 });
    expect(file.name).toMatch(/\.m4a$/);
    const m4a = path.join(scratch, 'recordings', room, file.name);
    const probed = await probe(m4a);
    expect(codecs(probed)).toEqual(['audio:aac']);
    expect(Math.abs(Number(probed.format.duration) - recordedFor)).toBeLessThanOrEqual(1);
    // Both voices are in the mix. Short windows: a gap the mixer fills with
    // silence shifts a caller's phase, which cancels a long window's bin.
    const wav = path.join(scratch, 'mix.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-i', m4a, '-ac', '1', '-ar', '8000', wav]);
    const mix = readWav(wav);
    const middle = mix.samples.subarray(mix.sampleRate, mix.samples.length - mix.sampleRate);
    expect(windowedToneShare(middle, mix.sampleRate, 440)).toBeGreaterThan(0.2);
    expect(windowedToneShare(middle, mix.sampleRate, 880)).toBeGreaterThan(0.2);

    // B heard only A's tone before, then the announcement (speech) when capture began.
    const heard = readWav(b.receivedWav());
    const startSeconds = (activeAt - bAnsweredAt) / 1000;
    const before = otherThan440(heard.samples, heard.sampleRate, 1, startSeconds - 0.5);
    const after = otherThan440(heard.samples, heard.sampleRate, startSeconds - 0.5, startSeconds + 4);
    expect(before.length).toBeGreaterThan(1);
    expect(Math.max(...after)).toBeGreaterThan(20 * Math.max(...before, 1e-9));
  }, 90_000);
});
