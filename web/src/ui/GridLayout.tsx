import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';

const ASPECT = 16 / 9;
const GAP = 12;

/** Picks the column count that makes n 16:9 tiles as large as the area allows. */
export function bestColumns(count: number, width: number, height: number): { columns: number; tileWidth: number } {
  let best = { columns: 1, tileWidth: 0 };
  for (let columns = 1; columns <= Math.max(1, count); columns++) {
    const rows = Math.ceil(count / columns);
    const tileWidth = Math.min((width - GAP * (columns - 1)) / columns, ((height - GAP * (rows - 1)) / rows) * ASPECT);
    if (tileWidth > best.tileWidth) best = { columns, tileWidth };
  }
  return best;
}

export function GridLayout({ count, children }: { count: number; children: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  const [tileWidth, setTileWidth] = useState(320);

  useLayoutEffect(() => {
    const element = ref.current!;
    const observer = new ResizeObserver(([entry]) => {
      const { width, height } = entry!.contentRect;
      setTileWidth(Math.floor(bestColumns(count, width, height).tileWidth));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [count]);

  return (
    <div ref={ref} class="grid" style={{ '--tile-width': `${tileWidth}px`, '--gap': `${GAP}px` }}>
      {children}
    </div>
  );
}
