import { DEFAULT_MAP_COLORMAP } from './choices.js';
import { getColormap, type Colormap } from './colormap.js';
import { CAP_HEIGHT, FONT_HEIGHT, textWidth } from './font.js';
import { BLACK, FRAME, WHITE, type ImageItem, type RGB, type Scene, type SceneItem, type TextItem } from './scene.js';
import { formatNumber } from '../model/format.js';

/**
 * A layer's output for one input as a grid of tiles, one per channel, each coloured through a
 * sequential colormap. Per-channel normalization (the default) stretches every tile from its own
 * minimum to its own maximum, so weak channels stay visible; `shared` uses the layer's range so
 * tiles compare. Channels with (almost) one value everywhere are drawn flat and listed.
 */

/** One sample's activation, channels last: [height, width, channels]; 1-D layers have height 1. */
export interface FeatureMaps {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Float32Array;
}

export type MapNormalization = 'per-channel' | 'shared';

export interface FeatureMapOptions {
  /** First line of the figure: layer, class, shape, input. */
  title: string;
  colormap?: string;
  normalize?: MapNormalization;
  /** Tiles per row (default: a near-square grid, at most 16 wide). */
  columns?: number;
}

export interface FeatureMapFigure {
  scene: Scene;
  /** Channels with (almost) one value everywhere. */
  flat: number[];
  min: number;
  max: number;
}

const INVALID: RGB = [255, 0, 255];
const MARGIN = 8;
const GAP = 4;
const LABEL = FONT_HEIGHT + 2;
const BAR_WIDTH = 256;
const BAR_HEIGHT = 10;
/** Smallest drawn size of a tile side; small maps are upscaled by whole pixels to reach it. */
const MIN_TILE = 48;
/**
 * A channel whose spread is below this fraction of the layer's largest |value| counts as flat: a dead
 * filter's 1e-20-sized output would otherwise be stretched into a convincing-looking picture.
 */
const FLAT_RELATIVE = 1e-6;
/** 1-D maps are drawn as strips this many pixels tall. */
const STRIP = 12;

function channelRange(maps: FeatureMaps, c: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = c; i < maps.data.length; i += maps.channels) {
    const v = maps.data[i]!;
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function paintTile(maps: FeatureMaps, c: number, lo: number, hi: number, scaleX: number, scaleY: number, colormap: Colormap): ImageItem {
  const w = maps.width * scaleX;
  const h = maps.height * scaleY;
  const pixels = new Uint8Array(w * h * 3);
  const span = hi - lo;
  for (let y = 0; y < maps.height; y++) {
    for (let x = 0; x < maps.width; x++) {
      const v = maps.data[(y * maps.width + x) * maps.channels + c]!;
      let rgb: RGB;
      if (!Number.isFinite(v)) rgb = INVALID;
      else {
        const k = span > 0 ? Math.round(((v - lo) / span) * 255) : 0;
        const i = Math.min(255, Math.max(0, k)) * 3;
        rgb = [colormap.lut[i]!, colormap.lut[i + 1]!, colormap.lut[i + 2]!];
      }
      for (let dy = 0; dy < scaleY; dy++) {
        for (let dx = 0; dx < scaleX; dx++) pixels.set(rgb, ((y * scaleY + dy) * w + x * scaleX + dx) * 3);
      }
    }
  }
  return { kind: 'image', x: 0, y: 0, width: w, height: h, pixels };
}

function text(x: number, y: number, value: string, anchor: TextItem['anchor'] = 'start'): TextItem {
  return { kind: 'text', x, y, text: value, anchor, color: BLACK };
}

function colorbar(colormap: Colormap): ImageItem {
  const pixels = new Uint8Array(BAR_WIDTH * BAR_HEIGHT * 3);
  for (let x = 0; x < BAR_WIDTH; x++) {
    const c = colormap.lut.subarray(x * 3, x * 3 + 3);
    for (let y = 0; y < BAR_HEIGHT; y++) pixels.set(c, (y * BAR_WIDTH + x) * 3);
  }
  return { kind: 'image', x: 0, y: 0, width: BAR_WIDTH, height: BAR_HEIGHT, pixels };
}

function listed(indices: readonly number[], max = 24): string {
  const shown = indices.slice(0, max).join(', ');
  return indices.length > max ? `${shown}, ... (${indices.length} in all)` : shown;
}

/** Draws every channel of one feature map as a labelled tile grid. */
export function featureMapFigure(maps: FeatureMaps, options: FeatureMapOptions): FeatureMapFigure {
  const colormap = getColormap(options.colormap ?? DEFAULT_MAP_COLORMAP);
  const normalize = options.normalize ?? 'per-channel';
  const ranges = Array.from({ length: maps.channels }, (_, c) => channelRange(maps, c));
  const min = Math.min(...ranges.map((r) => r[0]));
  const max = Math.max(...ranges.map((r) => r[1]));
  const flatSpan = FLAT_RELATIVE * Math.max(Math.abs(min), Math.abs(max));
  const flat = ranges.flatMap(([lo, hi], c) => (hi - lo <= flatSpan ? [c] : []));
  const oneD = maps.height === 1 && maps.width > 1;
  const scaleX = Math.max(1, Math.ceil(MIN_TILE / Math.max(maps.height, maps.width)));
  const scaleY = oneD ? STRIP : scaleX;
  const tileW = maps.width * scaleX;
  const tileH = maps.height * scaleY;
  const columns = options.columns ?? (oneD ? 1 : Math.min(16, Math.ceil(Math.sqrt(maps.channels))));
  const cellW = Math.max(tileW, textWidth(String(maps.channels - 1)));
  const items: SceneItem[] = [text(MARGIN, MARGIN, options.title)];
  const top = MARGIN + FONT_HEIGHT + 6;
  const labelW = oneD ? textWidth(String(maps.channels - 1)) + GAP : 0;
  const rows = Math.ceil(maps.channels / columns);
  for (let c = 0; c < maps.channels; c++) {
    const col = c % columns;
    const row = Math.floor(c / columns);
    const x = MARGIN + labelW + col * (cellW + GAP);
    const y = top + row * (tileH + GAP + (oneD ? 0 : LABEL));
    const [lo, hi] = normalize === 'shared' ? [min, max] : flat.includes(c) ? [ranges[c]![0], ranges[c]![0]] : ranges[c]!;
    if (oneD) items.push(text(MARGIN + labelW - GAP, y + Math.floor((tileH - CAP_HEIGHT) / 2), String(c), 'end'));
    else items.push(text(x, y, flat.includes(c) ? `${c} flat` : String(c)));
    const tileY = oneD ? y : y + LABEL;
    items.push({ kind: 'rect', x: x - 1, y: tileY - 1, width: tileW + 2, height: tileH + 2, fill: FRAME });
    items.push({ ...paintTile(maps, c, lo, hi, scaleX, scaleY, colormap), x, y: tileY });
  }
  let y = top + rows * (tileH + GAP + (oneD ? 0 : LABEL)) + 6;
  items.push({ ...colorbar(colormap), x: MARGIN, y });
  y += BAR_HEIGHT + 3;
  const [lowEnd, highEnd] = normalize === 'shared' ? [formatNumber(min), formatNumber(max)] : ['min', 'max'];
  items.push(text(MARGIN, y, lowEnd), text(MARGIN + BAR_WIDTH, y, highEnd, 'end'));
  y += CAP_HEIGHT + 6;
  const lines = [
    normalize === 'shared'
      ? `shared scale: every tile from ${formatNumber(min)} to ${formatNumber(max)} (the layer's range)`
      : `per-channel scale: each tile from its own min to its own max; layer range ${formatNumber(min)} to ${formatNumber(max)}`,
  ];
  if (flat.length > 0) lines.push(`${flat.length} of ${maps.channels} channels are flat (spread below 1e-6 of the layer's largest |value|): ${listed(flat)}`);
  for (const line of lines) {
    items.push(text(MARGIN, y, line));
    y += FONT_HEIGHT + 3;
  }
  const gridW = labelW + columns * (cellW + GAP) - GAP;
  const width = Math.max(gridW, BAR_WIDTH, textWidth(options.title), ...lines.map(textWidth)) + 2 * MARGIN;
  return { scene: { width, height: y + MARGIN - 3, background: WHITE, items, title: options.title }, flat, min, max };
}
