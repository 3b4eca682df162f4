import { CAP_HEIGHT, FONT_HEIGHT, textWidth } from './font.js';
import { BLACK, FRAME, WHITE, type Scene, type SceneItem, type TextItem } from './scene.js';

/**
 * Dataset examples as a grid: one row per filter, its top-k input crops left to right (rank 0
 * first), each drawn at one shared integer zoom so crops clipped at the image edge look smaller, as
 * they are; the score right under each crop, however small the crop.
 */

/** One crop: 8-bit pixels [height, width, channels] (1 or 3 channels). */
export interface ExampleCrop {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Uint8Array;
  readonly caption: string;
}

export interface ExampleRow {
  readonly label: string;
  readonly crops: readonly ExampleCrop[];
}

export interface ExamplesFigureOptions {
  title: string;
  lines: readonly string[];
}

const MARGIN = 8;
const GAP = 6;
/** Crops are zoomed by a whole factor to about this side. */
const TARGET = 56;

function text(x: number, y: number, value: string, anchor: TextItem['anchor'] = 'start'): TextItem {
  return { kind: 'text', x, y, text: value, anchor, color: BLACK };
}

function zoomed(crop: ExampleCrop, zoom: number): Uint8Array {
  const w = crop.width * zoom;
  const h = crop.height * zoom;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = (Math.floor(y / zoom) * crop.width + Math.floor(x / zoom)) * crop.channels;
      for (let c = 0; c < 3; c++) out[(y * w + x) * 3 + c] = crop.data[p + (crop.channels === 3 ? c : 0)]!;
    }
  }
  return out;
}

export function examplesFigure(rows: readonly ExampleRow[], options: ExamplesFigureOptions): Scene {
  const side = Math.max(1, ...rows.flatMap((r) => r.crops.map((c) => Math.max(c.height, c.width))));
  const zoom = Math.max(1, Math.round(TARGET / side));
  const cell = side * zoom;
  const captionWidth = Math.max(0, ...rows.flatMap((r) => r.crops.map((c) => textWidth(c.caption))));
  const column = Math.max(cell, captionWidth) + GAP;
  const labelWidth = Math.max(...rows.map((r) => textWidth(r.label))) + GAP;
  const rowHeight = cell + FONT_HEIGHT + 4 + GAP;
  const items: SceneItem[] = [text(MARGIN, MARGIN, options.title)];
  let y = MARGIN + FONT_HEIGHT + 6;
  for (const line of options.lines) {
    items.push(text(MARGIN, y, line));
    y += FONT_HEIGHT + 3;
  }
  y += 4;
  const k = Math.max(0, ...rows.map((r) => r.crops.length));
  for (const row of rows) {
    items.push(text(MARGIN, y + Math.floor((cell - CAP_HEIGHT) / 2), row.label));
    row.crops.forEach((crop, i) => {
      const x = MARGIN + labelWidth + i * column;
      const w = crop.width * zoom;
      const h = crop.height * zoom;
      items.push({ kind: 'rect', x: x - 1, y: y - 1, width: w + 2, height: h + 2, fill: FRAME });
      items.push({ kind: 'image', x, y, width: w, height: h, pixels: zoomed(crop, zoom) });
      items.push(text(x, y + h + 3, crop.caption));
    });
    y += rowHeight;
  }
  const width = Math.max(labelWidth + k * column, textWidth(options.title), ...options.lines.map(textWidth)) + 2 * MARGIN;
  return { width, height: y + MARGIN - GAP, background: WHITE, items, title: options.title };
}
