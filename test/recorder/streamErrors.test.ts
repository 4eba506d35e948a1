import { describe, expect, it } from 'vitest';
import { describeStreamFailure } from '../../recorder/streamErrors.ts';

describe('live-stream failures in words', () => {
  it('says a wrong key for a service that refuses before any media', () => {
    expect(describeStreamFailure('rtmps://a.rtmps.youtube.com/live2/k', 'Input/output error', true)).toBe('YouTube rejected the stream key (Input/output error)');
    expect(describeStreamFailure('rtmp://live.example.com/app/k', '', true)).toBe('live.example.com refused the stream');
  });

  it('says an untrusted certificate, not a wrong key, when TLS verification failed', () => {
    expect(describeStreamFailure('rtmps://ingest.example.com/live/k', 'Peer certificate failed verification', true)).toBe(
      "ingest.example.com's certificate is not trusted (Peer certificate failed verification)",
    );
  });

  it('says a drop after being live', () => {
    expect(describeStreamFailure('rtmp://live.twitch.tv/app/k', 'Broken pipe', false)).toBe('Twitch dropped the stream (Broken pipe)');
  });
});
