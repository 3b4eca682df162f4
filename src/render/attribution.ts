import { getColormap, type Colormap } from './colormap.js';
import { CAP_HEIGHT, FONT_HEIGHT, textWidth } from './font.js';
import { BLACK, FRAME, WHITE, type ImageItem, type Scene, type SceneItem, type TextItem } from './scene.js';
import { formatNumber } from '../model/format.js';

/**
 * An attribution map beside the image it explains: three panels (the input as the network saw it,
 * the map, the map laid over the input), one colour bar with the map's real values, and caption
 * lines (class names and scores, method settings). Signed maps (integrated gradients, occlusion)
 * use a diverging colormap centred on zero; unsigned maps run from 0 to their maximum. In the
 * overlay the map's opacity grows with its magnitude, so the photograph shows where the map is weak.
 */

/** A map over positions (row-major), drawn stretched over the image with bilinear interpolation. */
export interface MapValues {
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

/** 8-bit pixels [height, width, channels], channels 1 (grey) or 3 (RGB). */
export interface InputPicture {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

export interface AttributionFigureOptions {
  title: string;
  /** Lines under the colour bar. */
  lines: readonly string[];
  signed: boolean;
  colormap?: string;
}

const MARGIN = 8;
const GAP = 10;
const BAR_HEIGHT = 10;
/** Panels are drawn at least this large; small inputs (8x8 digits) are upscaled. */
const MIN_PANEL = 192;
const MAX_PANEL = 320;
const MAX_ALPHA = 0.75;

function text(x: number, y: number, value: string, anchor: TextItem['anchor'] = 'start'): TextItem {
  return { kind: 'text', x, y, text: value, anchor, color: BLACK };
}

/**
 * Bilinear resampling of a map to `height` x `width` with half-pixel centres (as OpenCV's and
 * TensorFlow's resize with align_corners=false), edges clamped.
 */
export function resizeBilinear(map: MapValues, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(map.height - 1, Math.max(0, ((y + 0.5) * map.height) / height - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(map.height - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const sx = Math.min(map.width - 1, Math.max(0, ((x + 0.5) * map.width) / width - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(map.width - 1, x0 + 1);
      const fx = sx - x0;
      const top = map.data[y0 * map.width + x0]! * (1 - fx) + map.data[y0 * map.width + x1]! * fx;
      const bottom = map.data[y1 * map.width + x0]! * (1 - fx) + map.data[y1 * map.width + x1]! * fx;
      out[y * width + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

function resizeNearest(map: MapValues, height: number, width: number): Float32Array {
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(map.height - 1, Math.floor((y * map.height) / height));
    for (let x = 0; x < width; x++) out[y * width + x] = map.data[sy * map.width + Math.min(map.width - 1, Math.floor((x * map.width) / width))]!;
  }
  return out;
}

function panelSize(picture: InputPicture): { height: number; width: number } {
  const side = Math.max(picture.height, picture.width);
  const scale = side < MIN_PANEL ? Math.ceil(MIN_PANEL / side) : side > MAX_PANEL ? MAX_PANEL / side : 1;
  return { height: Math.round(picture.height * scale), width: Math.round(picture.width * scale) };
}

/** The picture at panel size (nearest neighbour, so upscaled pixels stay visible as pixels). */
function picturePixels(picture: InputPicture, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(picture.height - 1, Math.floor((y * picture.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(picture.width - 1, Math.floor((x * picture.width) / width));
      const p = (sy * picture.width + sx) * picture.channels;
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = picture.data[p + (picture.channels === 3 ? c : 0)]!;
    }
  }
  return out;
}

/** LUT position 0..255 and overlay weight 0..1 of a value on the figure's scale. */
function position(v: number, lo: number, hi: number, signed: boolean): { index: number; weight: number } {
  if (!Number.isFinite(v) || hi <= lo) return { index: signed ? 128 : 0, weight: 0 };
  const t = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
  return { index: Math.round(t * 255), weight: signed ? Math.abs(2 * t - 1) : t };
}

function colorbar(colormap: Colormap, width: number): ImageItem {
  const pixels = new Uint8Array(width * BAR_HEIGHT * 3);
  for (let x = 0; x < width; x++) {
    const i = Math.round((x / (width - 1)) * 255) * 3;
    for (let y = 0; y < BAR_HEIGHT; y++) pixels.set(colormap.lut.subarray(i, i + 3), (y * width + x) * 3);
  }
  return { kind: 'image', x: 0, y: 0, width, height: BAR_HEIGHT, pixels };
}

/** The range a map is drawn on: [0, max] unsigned, [-m, m] with m = max |v| signed. */
export function mapRange(map: MapValues, signed: boolean): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of map.data) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 0];
  if (signed) {
    const m = Math.max(Math.abs(lo), Math.abs(hi));
    return [-m, m];
  }
  return [Math.min(0, lo), hi];
}

/** The three-panel figure of one attribution map over its input picture. */
export function attributionFigure(picture: InputPicture, map: MapValues, options: AttributionFigureOptions): Scene {
  const colormap = getColormap(options.colormap ?? (options.signed ? 'rdbu_r' : 'inferno'));
  const { height, width } = panelSize(picture);
  // A map at the input's own resolution is drawn pixel for pixel, like the input; coarser maps (Grad-CAM) are interpolated.
  const values = map.height === picture.height && map.width === picture.width ? resizeNearest(map, height, width) : resizeBilinear(map, height, width);
  const [lo, hi] = mapRange(map, options.signed);
  const photo = picturePixels(picture, height, width);
  const heat = new Uint8Array(height * width * 3);
  const overlay = new Uint8Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const { index, weight } = position(values[p]!, lo, hi, options.signed);
    const grey = 0.299 * photo[p * 3]! + 0.587 * photo[p * 3 + 1]! + 0.114 * photo[p * 3 + 2]!;
    const a = MAX_ALPHA * weight;
    for (let c = 0; c < 3; c++) {
      const h = colormap.lut[index * 3 + c]!;
      heat[p * 3 + c] = h;
      overlay[p * 3 + c] = Math.round((1 - a) * grey + a * h);
    }
  }
  const items: SceneItem[] = [text(MARGIN, MARGIN, options.title)];
  const labelsY = MARGIN + FONT_HEIGHT + 6;
  const panelsY = labelsY + FONT_HEIGHT + 2;
  const panels: [string, Uint8Array][] = [
    [`input ${picture.width}x${picture.height}`, photo],
    [`map ${map.width}x${map.height}`, heat],
    ['overlay', overlay],
  ];
  panels.forEach(([label, pixels], i) => {
    const x = MARGIN + i * (width + GAP);
    items.push(text(x, labelsY, label));
    items.push({ kind: 'rect', x: x - 1, y: panelsY - 1, width: width + 2, height: height + 2, fill: FRAME });
    items.push({ kind: 'image', x, y: panelsY, width, height, pixels });
  });
  let y = panelsY + height + GAP;
  const barWidth = Math.min(256, width * 2);
  items.push({ ...colorbar(colormap, barWidth), x: MARGIN, y });
  y += BAR_HEIGHT + 3;
  items.push(text(MARGIN, y, formatNumber(lo)), text(MARGIN + barWidth, y, formatNumber(hi), 'end'));
  if (options.signed) items.push(text(MARGIN + barWidth / 2, y, '0', 'middle'));
  y += CAP_HEIGHT + 8;
  for (const line of options.lines) {
    items.push(text(MARGIN, y, line));
    y += FONT_HEIGHT + 3;
  }
  const contentWidth = Math.max(3 * width + 2 * GAP, textWidth(options.title), ...options.lines.map(textWidth));
  return { width: contentWidth + 2 * MARGIN, height: y + MARGIN - 3, background: WHITE, items, title: options.title };
}
