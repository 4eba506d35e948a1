import { describe, expect, it } from 'vitest';
import { parseStreamTargets } from '../../web/src/lib/recordings.ts';

describe('Go live destinations as typed in the web client', () => {
  it('sends a bare YouTube stream key to YouTube over RTMPS', () => {
    expect(parseStreamTargets('abcd-efgh-ijkl-mnop\n')).toEqual({ streams: ['rtmps://a.rtmps.youtube.com/live2/abcd-efgh-ijkl-mnop'] });
  });

  it('keeps rtmp:// and rtmps:// URLs as given, one per line', () => {
    expect(parseStreamTargets(' rtmp://live.example.com/app/key \n\nrtmps://ingest.example.com/live/k2')).toEqual({
      streams: ['rtmp://live.example.com/app/key', 'rtmps://ingest.example.com/live/k2'],
    });
  });

  it('names the bad line, and refuses more than five', () => {
    expect(parseStreamTargets('rtmp://ok.example.com/a/b\nhttp://example.com/x').error).toMatch(/^Line 2: expected an rtmp/);
    expect(parseStreamTargets(Array.from({ length: 6 }, (_, i) => `key${i}`).join('\n')).error).toBe('At most 5 destinations.');
  });
});
