import { FONT_HEIGHT, textWidth } from './font.js';
import { BLACK, FRAME, WHITE, type RGB, type Scene, type SceneItem } from './scene.js';
import { formatNumber } from '../model/format.js';

/**
 * The largest values of a vector (a Dense or softmax output) as horizontal bars, largest first,
 * each labelled with its index and value. Bars start at zero; negative values extend left.
 */

export interface TopValue {
  index: number;
  value: number;
}

export interface BarOptions {
  title: string;
  /** How many bars (default 10). */
  top?: number;
  /** Names for indices (class labels), where known. */
  labels?: readonly string[];
}

const MARGIN = 8;
const BAR_LENGTH = 240;
const ROW = FONT_HEIGHT + 5;
const POSITIVE: RGB = [49, 104, 142];
const NEGATIVE: RGB = [178, 24, 43];

/** The k largest values with their indices, largest first (ties: lower index first). */
export function topValues(values: ArrayLike<number>, k: number): TopValue[] {
  return Array.from(values, (value, index) => ({ index, value }))
    .sort((a, b) => b.value - a.value || a.index - b.index)
    .slice(0, k);
}

export function barFigure(values: ArrayLike<number>, options: BarOptions): Scene {
  const top = topValues(values, options.top ?? 10);
  const names = top.map((t) => (options.labels?.[t.index] ? `${t.index} ${options.labels[t.index]}` : String(t.index)));
  const nameW = Math.max(...names.map(textWidth));
  const extent = Math.max(...top.map((t) => Math.abs(t.value)), 1e-30);
  const hasNegative = top.some((t) => t.value < 0);
  const zeroX = MARGIN + nameW + 8 + (hasNegative ? BAR_LENGTH / 2 : 0);
  const scale = (hasNegative ? BAR_LENGTH / 2 : BAR_LENGTH) / extent;
  const items: SceneItem[] = [{ kind: 'text', x: MARGIN, y: MARGIN, text: options.title, anchor: 'start', color: BLACK }];
  const first = MARGIN + FONT_HEIGHT + 8;
  top.forEach((t, i) => {
    const y = first + i * ROW;
    const length = Math.max(1, Math.round(Math.abs(t.value) * scale));
    const x = t.value < 0 ? zeroX - length : zeroX;
    items.push({ kind: 'text', x: MARGIN + nameW, y: y + 1, text: names[i]!, anchor: 'end', color: BLACK });
    items.push({ kind: 'rect', x, y, width: length, height: FONT_HEIGHT, fill: t.value < 0 ? NEGATIVE : POSITIVE });
    const labelX = t.value < 0 ? zeroX + 4 : x + length + 4;
    items.push({ kind: 'text', x: labelX, y: y + 1, text: formatNumber(t.value), anchor: 'start', color: BLACK });
  });
  const height = first + top.length * ROW + MARGIN;
  items.push({ kind: 'rect', x: zeroX, y: first - 2, width: 1, height: top.length * ROW, fill: FRAME });
  const width = Math.max(zeroX + (hasNegative ? BAR_LENGTH / 2 : BAR_LENGTH) + 60, textWidth(options.title)) + MARGIN * 2;
  return { width, height, background: WHITE, items, title: options.title };
}
