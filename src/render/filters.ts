import { UsageError } from '../model/errors.js';
import type { NamedTensor } from '../model/named-tensor.js';
import type { Note } from '../model/model.js';
import { analyzeFilters, DEAD_THRESHOLD, identicalWarning, type FilterAnalysis } from '../analyze/filter-health.js';
import { DEFAULT_COLORMAP } from './choices.js';
import { getColormap, type Colormap } from './colormap.js';
import { buildDisplay, type ChannelMode, type Display, type DrawMode, type Normalization } from './display.js';
import { paintGrid, type GridImage, type TilePlacement } from './filter-grid.js';
import { CAP_HEIGHT, FONT_HEIGHT, textWidth } from './font.js';
import { sceneToPng } from './scene-png.js';
import { sceneToSvg } from './scene-svg.js';
import { BLACK, WHITE, type ImageItem, type Scene, type SceneItem, type TextItem } from './scene.js';
import { filterSet, type FilterSet } from '../model/filters.js';
import { formatNumber, formatScale } from '../model/format.js';

export interface FilterFigureOptions {
  /** `shared` (default): one symmetric scale for the whole layer; `per-filter`: each tile on its own. */
  normalize?: Normalization;
  colormap?: string;
  channels?: ChannelMode;
  /** Filter indices to draw (default all), in the given order. */
  filters?: readonly number[];
  /** Pixels per kernel cell (default: automatic). */
  cellPx?: number;
  /** Draw filter indices in the PNG (the SVG always has them). */
  labels?: boolean;
  /** A symmetric scale to use instead of the layer's own max |w| (to share one scale across checkpoints). */
  scale?: number;
  /** What `scale` is, for the caption (default: the layer's max |w|): e.g. `max |w| before and after`. */
  scaleLabel?: string;
  /** How to name filters that are zero everywhere (default: dead filters); a change grid says "unchanged". */
  deadLabel?: string;
  maxColumns?: number;
  maxPixels?: number;
  /** First line of the figure, e.g. `conv2d kernel (5, 5, 1, 30) [kh, kw, in, out]`. */
  title?: string;
  /** The layer's name, for messages. */
  layer?: string;
  /** Lines the caller adds under the colour bar (what the picture stands for). */
  notes?: readonly string[];
}

/** Everything a caller prints about the figure. */
export interface FilterFigureInfo {
  mode: DrawMode;
  normalize: Normalization;
  /** The shared symmetric scale drawn (undefined with per-filter normalization). */
  scale: number | undefined;
  colormap: string;
  cellPx: number;
  filterAxis: string;
  filterCount: number;
  shown: number[];
  analysis: FilterAnalysis;
  /** Where each tile's top-left kernel cell is in the PNG, in px. */
  tiles: TilePlacement[];
  /** Facts about the drawing: channels cut, matrix orientation, dead filters (with the setting that changes them). */
  notes: Note[];
  /** Things that are probably wrong with the weights (identical filters, NaN). */
  warnings: string[];
  /** What the shared scale is, when the caller gave it (FilterFigureOptions.scaleLabel). */
  scaleLabel?: string;
}

export interface FilterFigure {
  info: FilterFigureInfo;
  png(): Uint8Array;
  svg(): string;
}

const MARGIN = 8;
const BAR_WIDTH = 256;
const BAR_HEIGHT = 10;
/** Top of the tile grid in the figure: below the title line. */
const GRID_TOP = MARGIN + FONT_HEIGHT + 6;

function listed(indices: readonly number[], max = 24): string {
  const shown = indices.slice(0, max).join(', ');
  return indices.length > max ? `${shown}, ... (${indices.length} in all)` : shown;
}

function checkFilters(set: FilterSet, wanted: readonly number[] | undefined, name: string): number[] {
  if (set.filterCount === 0 || set.data.length === 0) throw new UsageError(`${name[0]!.toUpperCase()}${name.slice(1)} has no filters to draw (an empty kernel).`);
  if (!wanted || wanted.length === 0) return Array.from({ length: set.filterCount }, (_, i) => i);
  for (const f of wanted) {
    if (!Number.isInteger(f) || f < 0 || f >= set.filterCount) {
      throw new UsageError(
        `Filter ${f} is out of range for ${name}: it has ${set.filterCount} filters along '${set.filterAxis}' (valid: 0 to ${set.filterCount - 1}).`,
      );
    }
  }
  return [...wanted];
}

/** A horizontal bar of the colormap from -scale (left) to +scale (right); grey ramp for rgb composites. */
export function colorbar(colormap: Colormap, rgb: boolean): ImageItem {
  const pixels = new Uint8Array(BAR_WIDTH * BAR_HEIGHT * 3);
  for (let x = 0; x < BAR_WIDTH; x++) {
    const k = x * 3;
    const c = rgb ? [x, x, x] : [colormap.lut[k]!, colormap.lut[k + 1]!, colormap.lut[k + 2]!];
    for (let y = 0; y < BAR_HEIGHT; y++) pixels.set(c, (y * BAR_WIDTH + x) * 3);
  }
  return { kind: 'image', x: 0, y: 0, width: BAR_WIDTH, height: BAR_HEIGHT, pixels };
}

function scaleCaption(display: Display, info: Pick<FilterFigureInfo, 'normalize' | 'scale'>, label?: string): { ends: string; caption: string } {
  const rgb = display.mode === 'rgb' ? 'R, G, B = input channels 0, 1, 2; grey = 0; ' : '';
  if (info.normalize === 'per-filter') {
    return { ends: 'max|w|', caption: `${rgb}per-filter scale: each tile on +-(its own max |w|), zero in the middle` };
  }
  const what = label ?? (display.mode === 'mean' ? 'max |channel mean|' : 'max |w| of the layer');
  return { ends: formatNumber(info.scale!), caption: `${rgb}shared scale: ${formatScale(info.scale!)} (${what}), zero in the middle` };
}

function textItem(x: number, y: number, text: string, anchor: TextItem['anchor'] = 'start'): TextItem {
  return { kind: 'text', x, y, text, anchor, color: BLACK };
}

/** Stacks title, grid, colorbar and notes into one scene. */
function compose(grid: GridImage, display: Display, colormap: Colormap, info: FilterFigureInfo, title: string): Scene {
  const items: SceneItem[] = [];
  items.push(textItem(MARGIN, MARGIN, title));
  let y = GRID_TOP;
  items.push({ ...grid.image, x: MARGIN, y });
  for (const l of grid.labels) items.push({ ...l, x: l.x + MARGIN, y: l.y + y });
  y += grid.image.height + 10;
  items.push({ ...colorbar(colormap, display.mode === 'rgb'), x: MARGIN, y });
  y += BAR_HEIGHT + 3;
  const { ends, caption } = scaleCaption(display, info, info.scaleLabel);
  items.push(textItem(MARGIN, y, `-${ends}`), textItem(MARGIN + BAR_WIDTH / 2, y, '0', 'middle'), textItem(MARGIN + BAR_WIDTH, y, `+${ends}`, 'end'));
  y += CAP_HEIGHT + 6;
  const lines = [caption, ...info.notes.map((n) => n.text), ...info.warnings.map((w) => `warning: ${w}`)];
  for (const line of lines) {
    items.push(textItem(MARGIN, y, line));
    y += FONT_HEIGHT + 3;
  }
  const width = Math.max(grid.image.width, BAR_WIDTH, textWidth(title), ...lines.map(textWidth)) + 2 * MARGIN;
  return { width, height: y + MARGIN - 3, background: WHITE, items, title };
}

/**
 * Draws the filters of one kernel tensor. The tensor's axis names decide what a filter is, so Keras,
 * TF.js, PyTorch and ONNX layouts of the same weights give the same picture.
 */
export function filterFigure(tensor: NamedTensor, options: FilterFigureOptions = {}): FilterFigure {
  const name = options.layer ? `layer '${options.layer}'` : 'this weight';
  const colormap = getColormap(options.colormap ?? DEFAULT_COLORMAP);
  const set = filterSet(tensor, options.layer ? `The kernel of layer '${options.layer}'` : 'This weight');
  const filters = checkFilters(set, options.filters, name);
  const analysis = analyzeFilters(set);
  const normalize = options.normalize ?? 'shared';
  const display = buildDisplay(set, analysis, {
    channels: options.channels ?? 'auto',
    normalize,
    scale: options.scale,
    maxColumns: options.maxColumns,
    shownFilters: filters.length,
    name,
  });
  const notes: Note[] = [...(options.notes ?? []).map((text) => ({ text })), ...display.notes];
  if (analysis.dead.length > 0) {
    notes.push({ text: `${options.deadLabel ?? 'dead filters'} (|w| < ${DEAD_THRESHOLD} everywhere, drawn flat): ${listed(analysis.dead)}` });
  }
  if (analysis.constant.length > 0) notes.push({ text: `constant filters (one value throughout): ${listed(analysis.constant)}` });
  const warnings: string[] = [];
  const identical = identicalWarning(analysis, options.layer ?? 'this weight');
  if (identical) warnings.push(identical);
  if (analysis.nonFinite > 0) warnings.push(`${analysis.nonFinite} NaN or infinite values, drawn magenta`);
  const title = options.title ?? `${tensor.axes.join(', ')} (${tensor.shape.join(', ')})`;
  const grid = (labels: boolean): GridImage =>
    paintGrid(set, display, filters, colormap, { labels, cellPx: options.cellPx, maxPixels: options.maxPixels });
  const pngGrid = grid(options.labels ?? false);
  const info: FilterFigureInfo = {
    mode: display.mode,
    normalize,
    scale: display.sharedScale,
    colormap: colormap.name,
    cellPx: pngGrid.cellPx,
    filterAxis: set.filterAxis,
    filterCount: set.filterCount,
    shown: filters,
    analysis,
    tiles: pngGrid.placements.map((p) => ({ ...p, x: p.x + MARGIN, y: p.y + GRID_TOP })),
    notes: [...pngGrid.notes.map((text) => ({ text })), ...notes],
    warnings,
    ...(options.scaleLabel ? { scaleLabel: options.scaleLabel } : {}),
  };
  return {
    info,
    png: () => sceneToPng(compose(pngGrid, display, colormap, info, title)),
    svg: () => sceneToSvg(compose(options.labels ? pngGrid : grid(true), display, colormap, info, title)),
  };
}
