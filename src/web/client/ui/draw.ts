import { analyzeFilters } from '../../../analyze/filter-health.js';
import { getColormap, lutIndex, ZERO_INDEX } from '../../../render/colormap.js';
import { buildDisplay, type ChannelMode, type Normalization } from '../../../render/display.js';
import { paintGrid, INVALID } from '../../../render/filter-grid.js';
import { filterSet } from '../../../model/filters.js';
import type { NamedTensor } from '../../../model/named-tensor.js';
import { viewerNote } from '../wording.js';

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
  matrix?: { canvas: HTMLCanvasElement; cellPx: number; rows: number; cols: number; first: number };
  scale: number | undefined;
  /** The symmetric scale filter f's tile is drawn on (the shared scale, or its own). */
  scaleOf: (filter: number) => number;
  /** Largest |w| over the whole layer. */
  layerAbsMax: number;
  /** What the tiles show after `auto` is resolved: rgb composites do not use the colormap. */
  mode: string;
  filterCount: number;
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
export function drawGrid(tensor: NamedTensor, controls: GridControls, layer: string, scale?: number, filters?: readonly number[]): DrawnGrid {
  const set = filterSet(tensor, `The kernel of layer '${layer}'`);
  const analysis = analyzeFilters(set);
  const display = buildDisplay(set, analysis, {
    channels: controls.channels,
    normalize: controls.normalize,
    scale,
    shownFilters: filters?.length ?? set.filterCount,
    name: `layer '${layer}'`,
  });
  const colormap = getColormap(controls.colormap);
  const warnings: string[] = [];
  if (analysis.identical) warnings.push(`All ${analysis.filterCount} filters are identical: a constant initializer never breaks symmetry.`);
  if (analysis.nonFinite > 0) warnings.push(`${analysis.nonFinite} NaN or infinite values, drawn magenta.`);
  const notes = display.notes.map(viewerNote);
  if (analysis.dead.length > 0) notes.push(`dead filters (drawn flat): ${analysis.dead.join(', ')}`);
  const all = filters ? [...filters] : Array.from({ length: set.filterCount }, (_, i) => i);
  const common = { scale: display.sharedScale, scaleOf: display.scaleOf, layerAbsMax: analysis.absMax, mode: display.mode, filterCount: set.filterCount, filterAxis: set.filterAxis, notes, warnings };
  if (display.mode === 'matrix') {
    const g = paintGrid(set, display, all, colormap, { labels: false, cellPx: controls.cellPx });
    notes.push(...g.notes);
    const rows = Math.min(all.length, Math.floor((g.image.height - 2) / g.cellPx));
    const cols = Math.floor((g.image.width - 2) / g.cellPx);
    return { ...common, tiles: [], matrix: { canvas: rgbCanvas(g.image.width, g.image.height, g.image.pixels), cellPx: g.cellPx, rows, cols, first: all[0] ?? 0 } };
  }
  const cellPx = controls.cellPx ?? paintGrid(set, display, all, colormap, { labels: false }).cellPx;
  const tiles = all.map((f) => {
    const g = paintGrid(set, display, [f], colormap, { labels: false, cellPx });
    return { filter: f, canvas: rgbCanvas(g.image.width, g.image.height, g.image.pixels) };
  });
  return { ...common, tiles };
}

/** The CSS colour of value v on symmetric scale s with the named colormap (for the numeric matrix). */
export function valueColour(v: number | null, s: number, colormap: string): string {
  if (v === null) return `rgb(${INVALID.join(',')})`;
  const lut = getColormap(colormap).lut;
  const k = (s > 0 ? lutIndex(v, s) : ZERO_INDEX) * 3;
  return `rgb(${lut[k]},${lut[k + 1]},${lut[k + 2]})`;
}

/** WCAG relative luminance of an sRGB colour. */
function luminance(r: number, g: number, b: number): number {
  const lin = (c: number): number => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** Black or white text, whichever contrasts more with that LUT colour (at least 4.5:1 for any colour). */
export function textColourOn(v: number | null, s: number, colormap: string): string {
  if (v === null) return '#000';
  const lut = getColormap(colormap).lut;
  const k = (s > 0 ? lutIndex(v, s) : ZERO_INDEX) * 3;
  const l = luminance(lut[k]!, lut[k + 1]!, lut[k + 2]!);
  return (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) ? '#000' : '#fff';
}
