import { UsageError } from '../model/errors.js';
import { lutIndex, ZERO_INDEX, type Colormap } from './colormap.js';
import type { Display } from './display.js';
import { CAP_HEIGHT, textWidth } from './font.js';
import { BLACK, FRAME, type ImageItem, type RGB, type TextItem } from './scene.js';
import type { FilterSet } from '../model/filters.js';

/** Colour of NaN / infinite weights: never a colormap colour. */
export const INVALID: RGB = [255, 0, 255];

const GUTTER = 2;
/** Largest figure drawn at all (a cell size given by the caller may ask for more): 50 megapixels. */
const MAX_PIXELS = 5e7;

function checkSize(width: number, height: number, cell: number): void {
  if (width * height > MAX_PIXELS) {
    throw new UsageError(
      `Drawing these filters at ${cell} px per kernel cell needs a ${width} x ${height} px image, over the ${MAX_PIXELS / 1e6} megapixel limit; choose a smaller tile size or fewer filters.`,
      { concept: 'tile-size' },
    );
  }
}

/** Largest tile grid (in pixels) the automatic cell size allows: keeps big layers quick to encode and view. */
const DEFAULT_MAX_PIXELS = 6e5;
/** Most rows or columns a matrix (Dense, 1x1) heatmap shows. */
const MATRIX_MAX = 1024;

export interface GridOptions {
  /** Pixels per kernel cell; default: tiles about 36 px, shrunk while the grid exceeds maxPixels. */
  cellPx?: number;
  /** Draw filter (and channel) indices. */
  labels: boolean;
  maxPixels?: number;
}

/** Where a tile's first kernel cell (top-left) was drawn; `channel` is -1 for composite / mean tiles and matrix rows. */
export interface TilePlacement {
  filter: number;
  channel: number;
  x: number;
  y: number;
}

/** The tile area of a filter figure: one RGB image plus its index labels, in its own coordinates. */
export interface GridImage {
  image: ImageItem;
  labels: TextItem[];
  placements: TilePlacement[];
  cellPx: number;
  notes: string[];
}

interface Canvas {
  width: number;
  height: number;
  data: Uint8Array;
}

function fill(c: Canvas, x0: number, y0: number, w: number, h: number, rgb: RGB): void {
  const [r, g, b] = rgb;
  const rowBytes = c.width * 3;
  let start = (y0 * c.width + x0) * 3;
  for (let y = 0; y < h; y++, start += rowBytes) {
    for (let o = start; o < start + w * 3; o += 3) {
      c.data[o] = r;
      c.data[o + 1] = g;
      c.data[o + 2] = b;
    }
  }
}

function frame(c: Canvas, x: number, y: number, w: number, h: number): void {
  fill(c, x, y, w, 1, FRAME);
  fill(c, x, y + h - 1, w, 1, FRAME);
  fill(c, x, y, 1, h, FRAME);
  fill(c, x + w - 1, y, 1, h, FRAME);
}

/** Colour of one value (or of one rgb triple) on symmetric scale s; s = 0 draws the neutral middle. */
function colourOf(values: Float32Array, i: number, stride: number, components: number, s: number, lut: Uint8Array): RGB {
  if (components === 3) {
    const r = values[i]!;
    const g = values[i + stride]!;
    const b = values[i + 2 * stride]!;
    if (!Number.isFinite(r) || !Number.isFinite(g) || !Number.isFinite(b)) return INVALID;
    if (s <= 0) return [ZERO_INDEX, ZERO_INDEX, ZERO_INDEX];
    return [lutIndex(r, s), lutIndex(g, s), lutIndex(b, s)];
  }
  const v = values[i]!;
  if (!Number.isFinite(v)) return INVALID;
  const k = (s <= 0 ? ZERO_INDEX : lutIndex(v, s)) * 3;
  return [lut[k]!, lut[k + 1]!, lut[k + 2]!];
}

/** Paints one tile (depth slices side by side, one empty cell between) with its top-left at (x0, y0). */
function paintTile(
  c: Canvas,
  x0: number,
  y0: number,
  set: FilterSet,
  values: Float32Array,
  offset: number,
  components: number,
  s: number,
  cell: number,
  lut: Uint8Array,
): void {
  const slice = set.height * set.width;
  const stride = set.depth * slice;
  for (let d = 0; d < set.depth; d++) {
    for (let y = 0; y < set.height; y++) {
      for (let x = 0; x < set.width; x++) {
        const rgb = colourOf(values, offset + d * slice + y * set.width + x, stride, components, s, lut);
        fill(c, x0 + (d * (set.width + 1) + x) * cell, y0 + y * cell, cell, cell, rgb);
      }
    }
  }
}

function label(x: number, y: number, text: string, anchor: TextItem['anchor']): TextItem {
  return { kind: 'text', x, y, text, anchor, color: BLACK };
}

/**
 * Where tiles go. Wrapped grids hold one tile per filter, about square. In the `each` layout a filter
 * is a row of channel tiles; tall stacks of rows are split into blocks side by side.
 */
interface Geometry {
  width: number;
  height: number;
  /** Top-left of the frame of filter k's tile for column j. */
  place(k: number, j: number): { x: number; y: number };
  /** Label anchors: above each tile (wrapped), or left of each row and above each column of each block (rows). */
  labels(filters: readonly number[], channels: readonly number[]): TextItem[];
}

const BLOCK_GAP = 12;

function tileGeometry(set: FilterSet, display: Display, filters: readonly number[], cell: number, labels: boolean): Geometry {
  const boxW = (set.depth * (set.width + 1) - 1) * cell + 2;
  const boxH = set.height * cell + 2;
  const maxLabel = textWidth(String(Math.max(...filters)));
  const n = filters.length;
  if (display.mode === 'each' && display.columns > 1) {
    const left = labels ? maxLabel + 4 : 0;
    const top = labels ? CAP_HEIGHT + 3 : 0;
    const pitchX = boxW + GUTTER;
    const pitchY = boxH + GUTTER;
    const blockW = left + display.columns * pitchX - GUTTER + BLOCK_GAP;
    const blocks = Math.min(n, Math.max(1, Math.round(Math.sqrt((n * pitchY) / blockW))));
    const perBlock = Math.ceil(n / blocks);
    const used = Math.ceil(n / perBlock);
    const place = (k: number, j: number) => ({ x: Math.floor(k / perBlock) * blockW + left + j * pitchX, y: top + (k % perBlock) * pitchY });
    return {
      width: used * blockW - BLOCK_GAP,
      height: top + perBlock * pitchY - GUTTER,
      place,
      labels: (fs, channels) => {
        const out = fs.map((f, k) => label(place(k, 0).x - 4, place(k, 0).y + Math.floor((boxH - CAP_HEIGHT) / 2), String(f), 'end'));
        const every = Math.max(1, Math.ceil((textWidth(String(channels.at(-1))) + 2) / pitchX));
        for (let b = 0; b < used; b++) {
          channels.forEach((c, j) => {
            if (j % every === 0) out.push(label(place(b * perBlock, j).x + Math.floor(boxW / 2), 0, String(c), 'middle'));
          });
        }
        return out;
      },
    };
  }
  const labelH = labels ? CAP_HEIGHT + 2 : 0;
  const pitchX = Math.max(boxW, labels ? maxLabel : 0) + GUTTER;
  const pitchY = labelH + boxH + GUTTER;
  const cols = Math.min(n, Math.max(1, Math.round(Math.sqrt((n * pitchY) / pitchX))));
  const rows = Math.ceil(n / cols);
  const place = (k: number) => ({ x: (k % cols) * pitchX + Math.floor((pitchX - GUTTER - boxW) / 2), y: labelH + Math.floor(k / cols) * pitchY });
  return {
    width: cols * pitchX - GUTTER,
    height: rows * pitchY - GUTTER,
    place,
    labels: (fs) => fs.map((f, k) => label(place(k).x + Math.floor(boxW / 2), place(k).y - CAP_HEIGHT - 2, String(f), 'middle')),
  };
}

function autoCell(set: FilterSet, display: Display, filters: readonly number[], labels: boolean, maxPixels: number): number {
  const longest = Math.max(set.depth * (set.width + 1) - 1, set.height);
  let cell = Math.min(16, Math.max(1, Math.round(36 / longest)));
  while (cell > 1) {
    const g = tileGeometry(set, display, filters, cell, labels);
    if (g.width * g.height <= maxPixels) break;
    cell--;
  }
  return cell;
}

function tileGrid(set: FilterSet, display: Display, filters: readonly number[], lut: Uint8Array, options: GridOptions): GridImage {
  const cell = options.cellPx ?? autoCell(set, display, filters, options.labels, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  const g = tileGeometry(set, display, filters, cell, options.labels);
  checkSize(g.width, g.height, cell);
  const canvas: Canvas = { width: g.width, height: g.height, data: new Uint8Array(g.width * g.height * 3) };
  canvas.data.fill(255);
  const boxW = (set.depth * (set.width + 1) - 1) * cell + 2;
  const boxH = set.height * cell + 2;
  const tile = set.depth * set.height * set.width;
  const placements: TilePlacement[] = [];
  const rowsLayout = display.mode === 'each' && display.columns > 1;
  filters.forEach((f, k) => {
    const values = display.values(f);
    const s = display.scaleOf(f);
    for (let j = 0; j < (rowsLayout ? display.columns : 1); j++) {
      const { x, y } = g.place(k, j);
      frame(canvas, x, y, boxW, boxH);
      placements.push({ filter: f, channel: rowsLayout || display.mode === 'channel' ? (display.channels[j] ?? -1) : -1, x: x + 1, y: y + 1 });
      paintTile(canvas, x + 1, y + 1, set, values, j * tile * display.components, display.components, s, cell, lut);
    }
  });
  return {
    image: { kind: 'image', x: 0, y: 0, width: g.width, height: g.height, pixels: canvas.data },
    labels: options.labels ? g.labels(filters, display.channels) : [],
    placements,
    cellPx: cell,
    notes: rowsLayout ? [`rows: filters (${set.filterAxis}), columns: input channels (${set.channelAxis})`] : [],
  };
}

function matrixGrid(set: FilterSet, display: Display, filters: readonly number[], lut: Uint8Array, options: GridOptions): GridImage {
  const notes: string[] = [];
  const rows = filters.slice(0, MATRIX_MAX);
  const cols = Math.min(set.channelCount, MATRIX_MAX);
  if (rows.length < filters.length) notes.push(`showing the first ${MATRIX_MAX} of ${filters.length} ${set.filterAxis} rows`);
  if (cols < set.channelCount) notes.push(`showing ${set.channelAxis} columns 0-${cols - 1} of ${set.channelCount}`);
  const cell = options.cellPx ?? Math.min(12, Math.max(1, Math.floor(640 / Math.max(rows.length, cols))));
  const left = options.labels ? textWidth(String(Math.max(...rows))) + 4 : 0;
  const top = options.labels ? CAP_HEIGHT + 3 : 0;
  const width = left + cols * cell + 2;
  const height = top + rows.length * cell + 2;
  checkSize(width, height, cell);
  const canvas: Canvas = { width, height, data: new Uint8Array(width * height * 3) };
  canvas.data.fill(255);
  frame(canvas, left, top, cols * cell + 2, rows.length * cell + 2);
  const placements: TilePlacement[] = [];
  rows.forEach((f, r) => {
    placements.push({ filter: f, channel: -1, x: left + 1, y: top + 1 + r * cell });
    const values = display.values(f);
    const s = display.scaleOf(f);
    for (let c = 0; c < cols; c++) fill(canvas, left + 1 + c * cell, top + 1 + r * cell, cell, cell, colourOf(values, c, 1, 1, s, lut));
  });
  const labels: TextItem[] = [];
  if (options.labels) {
    const last = rows.length - 1;
    labels.push(label(left - 3, top + 1, String(rows[0]), 'end'));
    if (last > 0) labels.push(label(left - 3, top + 1 + last * cell + cell - CAP_HEIGHT, String(rows[last]), 'end'));
    labels.push(label(left + 1, 0, '0', 'start'));
    if (cols > 1) labels.push(label(left + 1 + cols * cell, 0, String(cols - 1), 'end'));
  }
  notes.push(`rows: ${set.filterAxis} (${rows.length}), columns: ${set.channelAxis} (${cols})`);
  return { image: { kind: 'image', x: 0, y: 0, width, height, pixels: canvas.data }, labels, placements, cellPx: cell, notes };
}

/** Lays out and paints the tiles of the chosen filters. */
export function paintGrid(set: FilterSet, display: Display, filters: readonly number[], colormap: Colormap, options: GridOptions): GridImage {
  return display.mode === 'matrix'
    ? matrixGrid(set, display, filters, colormap.lut, options)
    : tileGrid(set, display, filters, colormap.lut, options);
}

