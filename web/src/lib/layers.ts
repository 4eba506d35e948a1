/**
 * Which simulcast layer (0: quarter, 1: half, 2: full resolution) fills a tile
 * of this many CSS pixels high without wasting bandwidth.
 */
export function spatialLayerForHeight(height: number): number {
  const pixels = height * (globalThis.devicePixelRatio || 1);
  if (pixels <= 200) return 0;
  if (pixels <= 400) return 1;
  return 2;
}
