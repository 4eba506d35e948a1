import { Radio, X } from 'lucide-preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { parseStreamTargets } from '../lib/recordings.ts';

/** Where to stream the meeting: a YouTube stream key, or rtmp(s):// URLs, one per line. */
export function LiveDialog({ onStart, onClose }: { onStart: (streams: string[]) => Promise<void>; onClose: () => void }) {
  const [text, setText] = useState('');
  const [starting, setStarting] = useState(false);
  const { streams, error } = parseStreamTargets(text);
  const targets = useRef<HTMLTextAreaElement>(null);
  useEffect(() => targets.current?.focus(), []);

  const start = async (event: Event) => {
    event.preventDefault();
    if (streams.length === 0) return;
    setStarting(true);
    try {
      await onStart(streams);
    } finally {
      setStarting(false);
    }
  };

  return (
    <dialog open id="live-dialog" class="live-dialog" aria-labelledby="live-title" onKeyDown={(e) => e.key === 'Escape' && onClose()}>
      <form onSubmit={(e) => void start(e)}>
        <header class="live-dialog-header">
          <h2 id="live-title">Go live</h2>
          <button class="icon-button" type="button" onClick={onClose} aria-label="Close">
            <X size={18} />
          </button>
        </header>
        <label for="live-targets">YouTube stream key, or rtmp:// and rtmps:// URLs (one per line)</label>
        <textarea
          id="live-targets"
          ref={targets}
          rows={3}
          autocomplete="off"
          spellcheck={false}
          placeholder={'xxxx-xxxx-xxxx-xxxx-xxxx\nrtmps://live-api-s.facebook.com:443/rtmp/<key>'}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        {error && <p class="field-error" role="alert">{error}</p>}
        <div class="live-dialog-actions">
          <button class="button primary small" type="submit" id="live-start" disabled={streams.length === 0 || starting}>
            <Radio size={16} /> Start streaming
          </button>
        </div>
      </form>
    </dialog>
  );
}
