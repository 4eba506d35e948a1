// The ffmpeg command lines the recorder runs (recorder/ffmpegArgs.ts).
import { describe, expect, it } from 'vitest';
import { joinPartsArgs, pcmEncoderArgs, screenCaptureArgs, streamRelayArgs } from '../../recorder/ffmpegArgs.ts';

/** The value after `option` (the first time it is given). */
const valueOf = (args: string[], option: string) => args[args.indexOf(option) + 1];

const capture = {
  display: ':99',
  pulseServer: 'unix:/tmp/job/pulse/native',
  pulseSource: 'recording.monitor',
  video: { width: 1280, height: 720, fps: 25 },
  encoder: { preset: 'veryfast', videoKbps: 2500 },
};

describe('screenCaptureArgs', () => {
  it('grabs the display and the sink, encodes once and writes the file and the live feed through tee', () => {
    const args = screenCaptureArgs({ ...capture, file: '/rec/a.part1.mp4', live: 'unix:/tmp/job/live.sock' });
    // Each input's options come before its -i; raw inputs are not probed, the screen's queue is short.
    const noProbe = ['-probesize', '32', '-analyzeduration', '0'];
    const screen = ['-f', 'x11grab', ...noProbe, '-framerate', '25', '-video_size', '1280x720', '-draw_mouse', '0', '-thread_queue_size', '16', '-i', ':99.0+0,0'];
    const sink = ['-f', 'pulse', ...noProbe, '-server', 'unix:/tmp/job/pulse/native', '-thread_queue_size', '1024', '-i', 'recording.monitor'];
    expect(args.slice(0, screen.length + sink.length)).toEqual([...screen, ...sink]);
    expect(args.slice(args.indexOf('-map'), args.indexOf('-map') + 4)).toEqual(['-map', '0:v', '-map', '1:a']);
    // A keyframe a second, at the configured rate.
    expect([valueOf(args, '-g'), valueOf(args, '-keyint_min')]).toEqual(['25', '25']);
    expect([valueOf(args, '-b:v'), valueOf(args, '-maxrate'), valueOf(args, '-bufsize')]).toEqual(['2500k', '2500k', '5000k']);
    expect(valueOf(args, '-preset')).toBe('veryfast');
    expect(args).toContain('-copyts');
    expect(args.slice(-3)).toEqual([
      '-f',
      'tee',
      '[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1:onfail=ignore]/rec/a.part1.mp4|[f=mpegts:onfail=ignore]unix:/tmp/job/live.sock',
    ]);
  });

  it('writes only what it is given, escaping what tee would read as its own', () => {
    expect(screenCaptureArgs({ ...capture, file: '/rec/a|b[1].mp4' }).at(-1)).toBe(
      '[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1:onfail=ignore]/rec/a\\|b\\[1\\].mp4',
    );
    expect(screenCaptureArgs({ ...capture, live: 'unix:/live' }).at(-1)).toBe('[f=mpegts:onfail=ignore]unix:/live');
    expect(() => screenCaptureArgs(capture)).toThrow(/needs a file or a live feed/);
  });
});

describe('pcmEncoderArgs', () => {
  it('encodes mono PCM from stdin to a fragmented M4A', () => {
    const args = pcmEncoderArgs({ inputRate: 8000, file: '/rec/call.part1.m4a', format: 'm4a' });
    expect(args.slice(0, 8)).toEqual(['-f', 's16le', '-ar', '8000', '-ac', '1', '-i', 'pipe:0']);
    expect(args.slice(-5)).toEqual(['-frag_duration', '2000000', '-f', 'ipod', '/rec/call.part1.m4a']);
    expect(valueOf(args, '-c:a')).toBe('aac');
    expect(valueOf(args, '-movflags')).toBe('+frag_keyframe+empty_moov+default_base_moof');
    expect(args.lastIndexOf('-ar')).toBeGreaterThan(args.indexOf('-i'));
    expect(args[args.lastIndexOf('-ar') + 1]).toBe('16000');
    expect(valueOf(args, '-flush_packets')).toBe('1');
  });

  it('encodes to a CBR MP3 without a Xing header', () => {
    const args = pcmEncoderArgs({ inputRate: 8000, file: '/rec/call.part1.mp3', format: 'mp3' });
    expect(args.slice(-7)).toEqual(['-c:a', 'libmp3lame', '-write_xing', '0', '-f', 'mp3', '/rec/call.part1.mp3']);
    expect(args).not.toContain('-movflags');
  });
});

describe('streamRelayArgs', () => {
  it('copies MPEG-TS from stdin to RTMP as FLV', () => {
    const args = streamRelayArgs({ url: 'rtmp://live.example/app/key', caFile: '/ca.pem' });
    expect(args.slice(args.indexOf('-f'), args.indexOf('-f') + 4)).toEqual(['-f', 'mpegts', '-i', 'pipe:0']);
    expect(args.slice(-9)).toEqual(['-map', '0', '-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', 'rtmp://live.example/app/key']);
    expect(args).not.toContain('-tls_verify');
  });

  it('checks an RTMPS server\'s certificate, against the given CAs if any', () => {
    expect(streamRelayArgs({ url: 'rtmps://live.example/app/key', caFile: '/ca.pem' }).slice(-6)).toEqual([
      'no_duration_filesize',
      '-tls_verify',
      '1',
      '-ca_file',
      '/ca.pem',
      'rtmps://live.example/app/key',
    ]);
    expect(streamRelayArgs({ url: 'rtmps://live.example/app/key', caFile: undefined }).slice(-3)).toEqual(['-tls_verify', '1', 'rtmps://live.example/app/key']);
  });
});

describe('joinPartsArgs', () => {
  it('joins without re-encoding, an MP4 for playback from the start', () => {
    const args = joinPartsArgs({ list: '/rec/a.mp4.parts.txt', target: '/rec/a.mp4' });
    expect(args.slice(0, 6)).toEqual(['-f', 'concat', '-safe', '0', '-i', '/rec/a.mp4.parts.txt']);
    expect(valueOf(args, '-c')).toBe('copy');
    expect(valueOf(args, '-movflags')).toBe('+faststart');
    expect(args.at(-1)).toBe('/rec/a.mp4');
  });

  it('leaves faststart out of an MP3', () => {
    expect(joinPartsArgs({ list: '/rec/a.mp3.parts.txt', target: '/rec/a.mp3' })).not.toContain('-movflags');
  });
});
