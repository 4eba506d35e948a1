import { X } from 'lucide-preact';
import type { ComponentChildren } from 'preact';

export function SidePanel({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  return (
    <aside class="side-panel" aria-label={title}>
      <header class="side-panel-header">
        <h2>{title}</h2>
        <button class="icon-button" onClick={onClose} aria-label={`Close ${title.toLowerCase()}`}>
          <X size={18} />
        </button>
      </header>
      {children}
    </aside>
  );
}
