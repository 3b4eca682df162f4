import { analyzeFilters } from '../../../analyze/filter-health.js';
import { getColormap, lutIndex, ZERO_INDEX } from '../../../render/colormap.js';
import { buildDisplay, type ChannelMode, type Normalization } from '../../../render/display.js';
import { paintGrid, INVALID } from '../../../render/filter-grid.js';
import { filterSet } from '../../../model/filters.js';
import type { NamedTensor } from '../../../model/named-tensor.js';

export interface GridControls {
  normalize: Normalization;
  colormap: string;
  channels: ChannelMode;
  /** Pixels per kernel cell; undefined = the renderer's automatic size. */
  cellPx: number | undefined;
}

export interface DrawnGrid {
  /** One canvas per filter (tiles), or one canvas for a matrix (Dense, 1x1) with filters as rows. */
  tiles: { filter: number; canvas: HTMLCanvasElement }[];
  matrix?: { canvas: HTMLCanvasElement; cellPx: number; rows: number; cols: number };
  scale: number | undefined;
  filterAxis: string;
  notes: string[];
  warnings: string[];
}

/** An RGB pixel buffer drawn 1:1 into a canvas. */
export function rgbCanvas(width: number, height: number, rgb: Uint8Array): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(width, height);
  for (let i = 0, j = 0; i < width * height; i++, j += 3) {
    image.data[i * 4] = rgb[j]!;
    image.data[i * 4 + 1] = rgb[j + 1]!;
    image.data[i * 4 + 2] = rgb[j + 2]!;
    image.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

/**
 * Draws a kernel's filters with the renderer's own layout and colouring (src/render), one tile per
 * filter, so the page shows exactly the pixels `convscope filters` writes, with hover and click per tile.
 * `scale` fixes the symmetric scale (shared by before/after/delta in the diff view).
 */
export function drawGrid(tensor: NamedTensor, controls: GridControls, layer: string, scale?: number): DrawnGrid {
  const set = filterSet(tensor, `The kernel of layer '${layer}'`);
  const analysis = analyzeFilters(set);
  const display = buildDisplay(set, analysis, {
    channels: controls.channels,
    normalize: controls.normalize,
    scale,
    shownFilters: set.filterCount,
    name: `layer '${layer}'`,
  });
  const colormap = getColormap(controls.colormap);
  const warnings: string[] = [];
  if (analysis.identical) warnings.push(`All ${analysis.filterCount} filters are identical: a constant initializer never breaks symmetry.`);
  if (analysis.nonFinite > 0) warnings.push(`${analysis.nonFinite} NaN or infinite values, drawn magenta.`);
  const notes = [...display.notes];
  if (analysis.dead.length > 0) notes.push(`dead filters (drawn flat): ${analysis.dead.join(', ')}`);
  const all = Array.from({ length: set.filterCount }, (_, i) => i);
  if (display.mode === 'matrix') {
    const g = paintGrid(set, display, all, colormap, { labels: false, cellPx: controls.cellPx });
    notes.push(...g.notes);
    const rows = Math.min(set.filterCount, Math.floor((g.image.height - 2) / g.cellPx));
    const cols = Math.floor((g.image.width - 2) / g.cellPx);
    return {
      tiles: [],
      matrix: { canvas: rgbCanvas(g.image.width, g.image.height, g.image.pixels), cellPx: g.cellPx, rows, cols },
      scale: display.sharedScale,
      filterAxis: set.filterAxis,
      notes,
      warnings,
    };
  }
  const cellPx = controls.cellPx ?? paintGrid(set, display, all, colormap, { labels: false }).cellPx;
  const tiles = all.map((f) => {
    const g = paintGrid(set, display, [f], colormap, { labels: false, cellPx });
    return { filter: f, canvas: rgbCanvas(g.image.width, g.image.height, g.image.pixels) };
  });
  return { tiles, scale: display.sharedScale, filterAxis: set.filterAxis, notes, warnings };
}

/** The CSS colour of value v on symmetric scale s with the named colormap (for the numeric matrix). */
export function valueColour(v: number | null, s: number, colormap: string): string {
  if (v === null) return `rgb(${INVALID.join(',')})`;
  const lut = getColormap(colormap).lut;
  const k = (s > 0 ? lutIndex(v, s) : ZERO_INDEX) * 3;
  return `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
}

/** Black or white text, whichever reads on a background of that LUT colour. */
export function textColourOn(v: number | null, s: number, colormap: string): string {
  if (v === null) return '#000';
  const lut = getColormap(colormap).lut;
  const k = (s > 0 ? lutIndex(v, s) : ZERO_INDEX) * 3;
  const luma = 0.299 * lut[k]! + 0.587 * lut[k + 1]! + 0.114 * lut[k + 2]!;
  return luma < 128 ? '#fff' : '#000';
}
