import { CircleAlert, X } from 'lucide-preact';
import { useEffect } from 'preact/hooks';
import type { Conference } from '../lib/conference.ts';

/** Toasts for problems the user should know about; each fades after a while. */
export function Notices({ conference }: { conference: Conference }) {
  const notices = conference.notices.value;
  useEffect(() => {
    if (notices.length === 0) return;
    const oldest = notices[0]!;
    const timer = setTimeout(() => conference.dismissNotice(oldest.id), 8000);
    return () => clearTimeout(timer);
  }, [notices, conference]);

  return (
    <div class="notices" role="alert">
      {notices.map((n) => (
        <div key={n.id} class="notice">
          <CircleAlert size={18} />
          <span>{n.text}</span>
          <button class="icon-button" aria-label="Dismiss" onClick={() => conference.dismissNotice(n.id)}>
            <X size={16} />
          </button>
        </div>
      ))}
    </div>
  );
}
