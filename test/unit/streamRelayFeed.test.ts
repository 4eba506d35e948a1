// A live-stream relay (recorder/capture/StreamRelay.ts) whose feed's audio
// starts seconds after its video, as the encoder's can at a recording's start
// on a loaded machine: its ffmpeg cannot write the FLV header ("sample rate
// not set": a CI run's stream failed so, reported as the destination's
// refusal and never retried). That is our feed, not the destination: the
// relay tries again, and does not tell the meeting.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { StreamRelay } from '../../recorder/capture/StreamRelay.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);

describe('a live-stream relay whose feed has no audio yet', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-feed-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('tries again instead of failing the stream as refused', async () => {
    const feed = path.join(dir, 'feed.ts');
    // MPEG-TS as the encoder writes it (H.264 and AAC), its first audio packet about 4 s in: past the relay's probe.
    await run('ffmpeg', [
      ...['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25:duration=8'],
      ...['-itsoffset', '4', '-f', 'lavfi', '-i', 'sine=f=440:duration=4'],
      ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'mpegts', feed],
    ]);
    const problems: string[] = [];
    const relay = new StreamRelay({
      url: `file:${path.join(dir, 'out.flv')}`, // ffmpeg's file protocol: a destination on this machine
      ffmpegPath: 'ffmpeg',
      caFile: undefined,
      onProblem: (message) => problems.push(message),
      logger: createLogger('silent', 'test'),
    });
    relay.restart();
    relay.write(fs.readFileSync(feed));
    try {
      await waitFor('the relay to end its first ffmpeg', () => relay.status.error !== undefined, 10_000, 50);
      expect(relay.status).toMatchObject({ state: 'connecting', error: expect.stringMatching(/audio was not ready to stream yet \(sample rate not set\); retrying/) });
      expect(problems).toEqual([]);
    } finally {
      await relay.stop();
    }
  });
});
