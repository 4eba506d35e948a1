// The ffmpeg command lines the recorder runs, one builder each, so what ffmpeg
// is told is plain to read and to test. The options' reasons are beside them.

export interface ScreenCaptureArgs {
  /** X display, e.g. ':99'. */
  display: string;
  pulseServer: string;
  pulseSource: string;
  video: { width: number; height: number; fps: number };
  encoder: { preset: string; videoKbps: number };
  /** A fragmented MP4 (playable up to the last fragment if anything dies). */
  file?: string;
  /** Where the live streams' relays read the same encode, as MPEG-TS (see LiveStreams). */
  live?: string;
}

/** Raw inputs need no probing; without it the file starts when the stats say frames flow, not a second earlier. */
const NO_PROBE = ['-probesize', '32', '-analyzeduration', '0'];

/**
 * A virtual display and an audio sink, encoded once (x264 + AAC) and written to
 * the file and the live feed through the tee muxer with onfail=ignore, so
 * neither failing stops the other.
 */
export function screenCaptureArgs(options: ScreenCaptureArgs): string[] {
  const { video, encoder } = options;
  if (!options.file && !options.live) throw new Error('a screen capture needs a file or a live feed');
  // A keyframe every second: RTMP services want <= 4 s, and the MP4 is cut into
  // 1 s fragments, so a crash loses about a second.
  const gop = String(video.fps);
  return [
    // A short screen queue: an encoder that falls behind drops (and counts) frames instead of
    // queueing seconds of them, so the file keeps wall-clock time and 'q' loses little.
    ...['-f', 'x11grab', ...NO_PROBE, '-framerate', String(video.fps), '-video_size', `${video.width}x${video.height}`, '-draw_mouse', '0', '-thread_queue_size', '16'],
    ...['-i', `${options.display}.0+0,0`],
    ...['-f', 'pulse', ...NO_PROBE, '-server', options.pulseServer, '-thread_queue_size', '1024', '-i', options.pulseSource],
    '-y',
    // One clock for both inputs: each would otherwise start at zero on its own, and the audio, which
    // opens later, would lead the picture by that gap (20-330 ms measured). Both inputs stamp with the
    // wall clock; the output shifts them together so the earlier one starts at zero.
    ...['-copyts', '-avoid_negative_ts', 'make_zero'],
    ...['-map', '0:v', '-map', '1:a'],
    ...['-c:v', 'libx264', '-preset', encoder.preset, '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'],
    ...['-g', gop, '-keyint_min', gop, '-sc_threshold', '0'],
    ...['-b:v', `${encoder.videoKbps}k`, '-maxrate', `${encoder.videoKbps}k`, '-bufsize', `${encoder.videoKbps * 2}k`],
    ...['-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2'],
    ...['-flags', '+global_header'],
    // info: the inputs' start times, which say when the file's first frame was captured.
    // Frequent stats: 'flowing' (and so 'active') soon after the first frame is written.
    ...['-loglevel', 'info', '-stats', '-stats_period', '0.2'],
    ...['-f', 'tee', teeTargets(options)],
  ];
}

function teeTargets({ file, live }: ScreenCaptureArgs): string {
  const escape = (target: string) => target.replace(/[\\|[\]]/g, (c) => `\\${c}`);
  return [
    ...(file ? [`[f=mp4:movflags=+frag_keyframe+empty_moov+default_base_moof:flush_packets=1:onfail=ignore]${escape(file)}`] : []),
    // MPEG-TS: a relay (re)started mid-stream picks it up at the next keyframe.
    ...(live ? [`[f=mpegts:onfail=ignore]${escape(live)}`] : []),
  ].join('|');
}

/** Raw PCM (s16le, mono, at `inputRate`) from stdin, encoded into `file` as M4A (AAC) or MP3. */
export function pcmEncoderArgs(options: { inputRate: number; file: string; format: 'm4a' | 'mp3' }): string[] {
  return [
    ...['-f', 's16le', '-ar', String(options.inputRate), '-ac', '1', '-i', 'pipe:0'],
    '-y',
    // Narrowband speech: 32 kbit/s is plenty. 16 kHz rather than 8 kHz because
    // players handle it better (8 kHz MP3 is the rarely supported MPEG-2.5).
    ...['-ar', '16000', '-b:a', '32k', '-loglevel', 'warning'],
    // Write out what is encoded at once: a few kbit/s would otherwise sit for many seconds
    // in ffmpeg's output buffer, and be lost with it if ffmpeg were killed.
    ...['-flush_packets', '1'],
    ...(options.format === 'm4a'
      ? // Fragmented, so a crash leaves a playable file up to the last 2 s fragment.
        ['-c:a', 'aac', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '2000000', '-f', 'ipod']
      : // No Xing header: it is only written at the end, and CBR needs none for duration or seeking.
        ['-c:a', 'libmp3lame', '-write_xing', '0', '-f', 'mp3']),
    options.file,
  ];
}

/** The encoded meeting (MPEG-TS on stdin) copied to one RTMP(S) destination as FLV. */
export function streamRelayArgs(options: { url: string; caFile: string | undefined }): string[] {
  // ffmpeg's TLS does not check the server's certificate unless told to: a stream key
  // would go to whoever answers for the host.
  const tls = options.url.startsWith('rtmps:') ? ['-tls_verify', '1', ...(options.caFile ? ['-ca_file', options.caFile] : [])] : [];
  return [
    ...['-hide_banner', '-loglevel', 'warning', '-stats', '-stats_period', '0.5'],
    // -c copy starts at the first keyframe it sees; no probing beyond what finds both streams.
    ...['-analyzeduration', '1500000', '-f', 'mpegts', '-i', 'pipe:0'],
    ...['-map', '0', '-c', 'copy', '-f', 'flv', '-flvflags', 'no_duration_filesize', ...tls, options.url],
  ];
}

/** Parts listed in a concat file joined without re-encoding, an MP4 written for playback from the start. */
export function joinPartsArgs(options: { list: string; target: string }): string[] {
  return [
    ...['-f', 'concat', '-safe', '0', '-i', options.list],
    '-y',
    ...['-loglevel', 'error', '-c', 'copy', ...(options.target.endsWith('.mp3') ? [] : ['-movflags', '+faststart'])],
    options.target,
  ];
}
