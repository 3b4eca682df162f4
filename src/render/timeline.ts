import { schemeTableau10 } from 'd3-scale-chromatic';
import { NamedTensor } from '../model/named-tensor.js';
import { analyzeFilters } from '../analyze/filter-health.js';
import { DEFAULT_COLORMAP } from './choices.js';
import { getColormap } from './colormap.js';
import { buildDisplay } from './display.js';
import { paintGrid } from './filter-grid.js';
import { colorbar } from './filters.js';
import { CAP_HEIGHT, FONT_HEIGHT, textWidth } from './font.js';
import { escapeHtml, htmlPage } from './html.js';
import { sceneToPng } from './scene-png.js';
import { toBase64 } from './scene-svg.js';
import { BLACK, WHITE, type SceneItem, type TextItem } from './scene.js';
import { filterSet, filterValues } from '../model/filters.js';
import { formatNumber, formatScale } from '../model/format.js';

/** One line of a chart: [step, value] pairs; values <= 0 or not finite are left out (log scale). */
export interface ChartSeries {
  name: string;
  points: readonly (readonly [number, number])[];
}

export interface LogChartOptions {
  title: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** A shaded band of healthy values, e.g. update ratios around 1e-3. */
  band?: { low: number; high: number; label: string };
  /** A dashed horizontal reference line, e.g. the barely-changed threshold. */
  reference?: { value: number; label: string };
  /** A vertical line at one step, e.g. the snapshot the viewer shows. */
  marker?: { step: number; label: string };
}

const WIDTH = 760;
const HEIGHT = 420;
const PLOT = { left: 72, top: 40, bottom: 52 };
const LEGEND_ROW = 16;
const CHAR_PX = 6.5;

/** 1, 2 or 5 times a power of ten: about `count` ticks over [lo, hi]. */
function linearTicks(lo: number, hi: number, count = 6): number[] {
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.round(t / magnitude) * magnitude);
  return ticks;
}

function usable(v: number): boolean {
  return Number.isFinite(v) && v > 0;
}

function decadeLabel(k: number): string {
  return k >= -2 && k <= 2 ? String(10 ** k) : `1e${k}`;
}

/**
 * A line chart with a log-scale y axis as a standalone SVG: one <polyline> per series (points where
 * the value is 0 or not finite are left out), step ticks on x, decades on y, a legend on the right.
 */
export function logLineChart(options: LogChartOptions): string {
  const values = options.series.flatMap((s) => s.points.map((p) => p[1]).filter(usable));
  const steps = options.series.flatMap((s) => s.points.map((p) => p[0]));
  const extra = [options.band?.low, options.band?.high, options.reference?.value].filter((v): v is number => v !== undefined && usable(v));
  const all = [...values, ...extra];
  let lo = Math.floor(Math.log10(all.length ? Math.min(...all) : 1e-4));
  let hi = Math.ceil(Math.log10(all.length ? Math.max(...all) : 1));
  if (hi <= lo) hi = lo + 1;
  const x0 = steps.length ? Math.min(...steps) : 0;
  let x1 = steps.length ? Math.max(...steps) : 1;
  if (x1 <= x0) x1 = x0 + 1;

  const gaps = options.series.some((s) => s.points.some((p) => !usable(p[1])));
  const legendWidth = Math.ceil(Math.max(gaps ? 150 : 60, ...options.series.map((s) => s.name.length * CHAR_PX)) + 28);
  const legendRow = gaps ? 2 * LEGEND_ROW : LEGEND_ROW;
  const right = WIDTH - legendWidth - 16;
  const bottom = HEIGHT - PLOT.bottom;
  const sx = (step: number) => PLOT.left + ((step - x0) / (x1 - x0)) * (right - PLOT.left);
  const sy = (v: number) => bottom - ((Math.log10(v) - lo) / (hi - lo)) * (bottom - PLOT.top);
  const r = (n: number) => Number(n.toFixed(2));
  const out: string[] = [];
  const text = (x: number, y: number, s: string, attrs = '') => `<text x="${r(x)}" y="${r(y)}"${attrs}>${escapeHtml(s)}</text>`;

  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(text(PLOT.left, 22, options.title, ' font-size="14" font-weight="bold"'));
  if (options.band) {
    const top = sy(Math.min(options.band.high, 10 ** hi));
    const low = sy(Math.max(options.band.low, 10 ** lo));
    out.push(`<rect class="band" x="${PLOT.left}" y="${r(top)}" width="${right - PLOT.left}" height="${r(low - top)}" fill="#2ca02c" fill-opacity="0.12"/>`);
    out.push(text(right - 4, low - 5, options.band.label, ' text-anchor="end" fill="#2c7a2c" font-size="10"'));
  }
  const decadeStep = hi - lo > 8 ? 2 : 1;
  for (let k = lo; k <= hi; k += decadeStep) {
    const y = sy(10 ** k);
    out.push(`<line x1="${PLOT.left}" x2="${right}" y1="${r(y)}" y2="${r(y)}" stroke="#e3e3e3"/>`);
    out.push(text(PLOT.left - 6, y + 4, decadeLabel(k), ' text-anchor="end"'));
  }
  for (const t of linearTicks(x0, x1)) {
    const x = sx(t);
    out.push(`<line x1="${r(x)}" x2="${r(x)}" y1="${bottom}" y2="${bottom + 5}" stroke="black"/>`);
    out.push(text(x, bottom + 18, String(t), ' text-anchor="middle"'));
  }
  out.push(`<path d="M${PLOT.left},${PLOT.top} V${bottom} H${right}" fill="none" stroke="black"/>`);
  out.push(text((PLOT.left + right) / 2, HEIGHT - 12, 'training step (updates applied)', ' text-anchor="middle"'));
  out.push(text(16, (PLOT.top + bottom) / 2, options.yLabel, ` text-anchor="middle" transform="rotate(-90 16 ${(PLOT.top + bottom) / 2})"`));
  if (options.reference && usable(options.reference.value)) {
    const y = sy(options.reference.value);
    out.push(`<line x1="${PLOT.left}" x2="${right}" y1="${r(y)}" y2="${r(y)}" stroke="#888" stroke-dasharray="5 4"/>`);
    out.push(text(right - 4, y - 4, options.reference.label, ' text-anchor="end" fill="#555" font-size="10"'));
  }
  if (options.marker && options.marker.step >= x0 && options.marker.step <= x1) {
    const x = sx(options.marker.step);
    out.push(`<line class="marker" data-step="${options.marker.step}" x1="${r(x)}" x2="${r(x)}" y1="${PLOT.top}" y2="${bottom}" stroke="#d62728" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    const leftOf = x > (PLOT.left + right) / 2;
    out.push(text(leftOf ? x - 4 : x + 4, PLOT.top + 10, options.marker.label, ` fill="#b01e1e" font-size="10"${leftOf ? ' text-anchor="end"' : ''}`));
  }
  options.series.forEach((s, i) => {
    const colour = schemeTableau10[i % schemeTableau10.length]!;
    const kept = s.points.filter((p) => usable(p[1]));
    const points = kept.map((p) => `${r(sx(p[0]))},${r(sy(p[1]))}`).join(' ');
    out.push(`<polyline data-series="${escapeHtml(s.name)}" points="${points}" fill="none" stroke="${colour}" stroke-width="1.8"><title>${escapeHtml(s.name)}</title></polyline>`);
    if (kept.length <= 60) for (const p of kept) out.push(`<circle cx="${r(sx(p[0]))}" cy="${r(sy(p[1]))}" r="2.2" fill="${colour}"/>`);
    const ly = PLOT.top + 8 + i * legendRow;
    out.push(`<line x1="${right + 16}" x2="${right + 34}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="2.5"/>`);
    const left = s.points.length - kept.length;
    out.push(text(right + 40, ly + 4, s.name));
    if (left > 0) out.push(text(right + 40, ly + 17, `${left} of ${s.points.length} zero or NaN: not drawn`, ' fill="#666" font-size="9"'));
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" ` +
    `font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">\n<title>${escapeHtml(options.title)}</title>\n${out.join('\n')}\n</svg>\n`
  );
}

/** One kernel at several training steps (all frames with the same axes and shape). */
export interface KernelHistory {
  layer: string;
  role: string;
  steps: readonly number[];
  frames: readonly NamedTensor[];
}

export interface FilterStrip {
  png: Uint8Array;
  /** The one symmetric scale of every tile: max |w| over all frames (channel means where averaged). */
  scale: number;
  filterCount: number;
  /** Input channels averaged per tile (1: drawn as is). */
  channelsAveraged: number;
  /** Pixels per kernel cell. */
  cellPx: number;
  /** Top-left kernel cell of each tile in the PNG, in px. */
  tiles: { filter: number; snapshot: number; x: number; y: number }[];
  lines: string[];
}

const MARGIN = 8;

/**
 * Each filter over time as one PNG: a row per filter, a column per snapshot, every tile on one shared
 * symmetric scale, so a filter that moves changes colour and one that does not stays the same. Filters
 * with several input channels are drawn as their channel mean.
 */
export function filterStrip(history: KernelHistory, options: { colormap?: string } = {}): FilterStrip {
  const sets = history.frames.map((f) => filterSet(f, `The kernel of layer '${history.layer}'`));
  const first = sets[0]!;
  const T = sets.length;
  const F = first.filterCount;
  const tile = first.depth * first.height * first.width;
  const data = new Float32Array(F * T * tile);
  let scale = 0;
  sets.forEach((set, t) => {
    for (let f = 0; f < F; f++) {
      const v = filterValues(set, f);
      const at = (f * T + t) * tile;
      for (let i = 0; i < tile; i++) {
        let sum = 0;
        for (let c = 0; c < set.channelCount; c++) sum += v[c * tile + i]!;
        const mean = sum / set.channelCount;
        data[at + i] = mean;
        if (Number.isFinite(mean)) scale = Math.max(scale, Math.abs(mean));
      }
    }
  });
  const spatial = first.depth > 1 ? { axes: ['kd', 'kh', 'kw'] as const, shape: [first.depth, first.height, first.width] } : { axes: ['kh', 'kw'] as const, shape: [first.height, first.width] };
  const combined = filterSet(new NamedTensor(['out', 'in', ...spatial.axes], [F, T, ...spatial.shape], data));
  const name = `layer '${history.layer}'`;
  const display = buildDisplay(combined, analyzeFilters(combined), {
    channels: combined.matrix ? 'auto' : 'each',
    normalize: 'shared',
    scale,
    maxColumns: T,
    shownFilters: F,
    name,
  });
  const colormap = getColormap(options.colormap ?? DEFAULT_COLORMAP);
  const grid = paintGrid(combined, display, Array.from({ length: F }, (_, f) => f), colormap, { labels: true });
  const rows = display.mode === 'each' && display.columns > 1;
  const stepLabels: TextItem[] = [];
  if (rows) {
    // Column headers: the snapshot's step above every column (thinned so they never overlap).
    const top = Math.min(...grid.placements.map((p) => p.y));
    const heads = grid.placements.filter((p) => p.y === top);
    const pitch = heads.length > 1 ? heads[1]!.x - heads[0]!.x : 1;
    const every = Math.max(1, Math.ceil((textWidth(String(history.steps.at(-1))) + 4) / pitch));
    const box = (first.depth * (first.width + 1) - 1) * grid.cellPx;
    for (const p of heads) {
      if (p.channel % every === 0 || p.channel === T - 1) {
        stepLabels.push({ kind: 'text', x: p.x + Math.floor(box / 2), y: 0, text: String(history.steps[p.channel]), anchor: 'middle', color: BLACK });
      }
    }
  }
  const title = `${history.layer} ${history.role}: each filter over training (${F} filters x ${T} snapshots)`;
  const head = rows
    ? 'rows: filters (out); columns: snapshots, labelled by training step'
    : display.mode === 'matrix'
      ? `rows: filters (out); columns: snapshots 0-${T - 1} at steps ${history.steps.join(', ')}`
      : `one snapshot, at step ${history.steps[0]}`;
  const lines = [
    `one shared symmetric scale over all snapshots: ${formatScale(scale)}, zero in the middle`,
    ...(first.channelCount > 1 ? [`each tile is the mean over the filter's ${first.channelCount} input channels`] : []),
  ];
  const items: SceneItem[] = [
    { kind: 'text', x: MARGIN, y: MARGIN, text: title, anchor: 'start', color: BLACK },
    { kind: 'text', x: MARGIN, y: MARGIN + FONT_HEIGHT + 3, text: head, anchor: 'start', color: BLACK },
  ];
  const gridTop = MARGIN + 2 * (FONT_HEIGHT + 3) + 4;
  let y = gridTop;
  items.push({ ...grid.image, x: MARGIN, y });
  const labels = rows ? [...grid.labels.filter((l) => l.anchor === 'end'), ...stepLabels] : grid.labels;
  for (const l of labels) items.push({ ...l, x: l.x + MARGIN, y: l.y + y });
  y += grid.image.height + 10;
  const bar = colorbar(colormap, false);
  items.push({ ...bar, x: MARGIN, y });
  y += bar.height + 3;
  const ends = formatNumber(scale);
  items.push(
    { kind: 'text', x: MARGIN, y, text: `-${ends}`, anchor: 'start', color: BLACK },
    { kind: 'text', x: MARGIN + bar.width / 2, y, text: '0', anchor: 'middle', color: BLACK },
    { kind: 'text', x: MARGIN + bar.width, y, text: `+${ends}`, anchor: 'end', color: BLACK },
  );
  y += CAP_HEIGHT + 6;
  for (const line of lines) {
    items.push({ kind: 'text', x: MARGIN, y, text: line, anchor: 'start', color: BLACK });
    y += FONT_HEIGHT + 3;
  }
  const width = Math.max(grid.image.width, bar.width, ...[title, head, ...lines].map(textWidth)) + 2 * MARGIN;
  const png = sceneToPng({ width, height: y + MARGIN - 3, background: WHITE, items, title });
  const tiles = grid.placements.map((p) => ({ filter: p.filter, snapshot: rows ? p.channel : 0, x: p.x + MARGIN, y: p.y + gridTop }));
  return { png, scale, filterCount: F, channelsAveraged: first.channelCount, cellPx: grid.cellPx, tiles, lines };
}

/** A figure of the timeline page: an SVG or PNG file beside the page, embedded and linked. */
export interface TimelineFigure {
  title: string;
  file: string;
  mime: 'image/svg+xml' | 'image/png';
  bytes: Uint8Array;
  lines: readonly string[];
}

/** A self-contained HTML page: the summary table, then every figure embedded (data URI) and linked to its file. */
export function timelinePage(heading: string, table: readonly (readonly string[])[], figures: readonly TimelineFigure[]): string {
  const [head, ...body] = table;
  const cells = (row: readonly string[], tag: string) => `<tr>${row.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join('')}</tr>`;
  const sections = figures.map(
    (f) =>
      `<section>\n<h2>${escapeHtml(f.title)}</h2>\n<a href="${escapeHtml(f.file)}"><img alt="${escapeHtml(f.title)}" src="data:${f.mime};base64,${toBase64(f.bytes)}"></a>\n` +
      `<ul>${f.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>\n</section>`,
  );
  const rows = `<table>\n${head ? cells(head, 'th') : ''}\n${body.map((r) => cells(r, 'td')).join('\n')}\n</table>`;
  return htmlPage(heading, `${rows}\n${sections.join('\n')}`);
}
