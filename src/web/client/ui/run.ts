import { formatNumber } from '../../../model/format.js';
import type { StepHistograms } from '../../../views/timeline-view.js';
import type { Backend } from '../backend.js';
import { h, setStatus } from '../dom.js';
import type { Router, ViewState } from '../state.js';
import { viewerError } from '../wording.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Geometry of the histograms over steps: one ridge per step, each RIDGE px below the previous, peaks PEAK px tall. */
const RIDGE = { width: 520, left: 64, right: 16, top: 12, step: 22, peak: 54, bottom: 34 };

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * TensorBoard's offset histograms: the kernel's histogram at each step as a ridge, the first step at
 * the back (top) and the last in front, all on the same bins and the same count scale, so drift and
 * widening read at a glance; the step the page shows is drawn in red.
 */
function ridges(hist: StepHistograms, current: number): SVGSVGElement {
  const n = hist.steps.length;
  const bins = hist.edges.length - 1;
  const height = RIDGE.top + RIDGE.peak + (n - 1) * RIDGE.step + RIDGE.bottom;
  const plotW = RIDGE.width - RIDGE.left - RIDGE.right;
  const most = Math.max(1, ...hist.steps.flatMap((s) => s.counts));
  const out = svg('svg', {
    width: RIDGE.width,
    height,
    viewBox: `0 0 ${RIDGE.width} ${height}`,
    role: 'img',
    'aria-label': `histograms of ${hist.layer} ${hist.weight} at ${n} steps, step ${current} in red`,
    'data-testid': 'run-histograms',
  });
  hist.steps.forEach((s, i) => {
    const base = RIDGE.top + RIDGE.peak + i * RIDGE.step;
    const points = s.counts.map((c, b) => `${(RIDGE.left + ((b + 0.5) / bins) * plotW).toFixed(1)},${(base - (c / most) * RIDGE.peak).toFixed(1)}`);
    const on = s.step === current;
    const shade = Math.round(200 - (120 * i) / Math.max(1, n - 1));
    const ridge = svg('path', {
      d: `M${RIDGE.left},${base} L${points.join(' L')} L${RIDGE.left + plotW},${base} Z`,
      fill: on ? 'rgba(214, 39, 40, 0.25)' : `rgba(${shade}, ${shade}, 255, 0.35)`,
      stroke: on ? '#d62728' : `rgb(${shade - 40}, ${shade - 40}, 200)`,
      'stroke-width': on ? 2 : 1,
      class: on ? 'ridge current' : 'ridge',
      'data-step': s.step,
      'data-counts': s.counts.join(' '),
    });
    const title = svg('title');
    title.textContent = `step ${s.step}`;
    ridge.append(title);
    out.append(ridge);
    if (on || i === 0 || i === n - 1) {
      const label = svg('text', { x: RIDGE.left - 6, y: base, 'text-anchor': 'end', 'font-size': 11, fill: on ? '#b01e1e' : '#333' });
      label.textContent = `step ${s.step}`;
      out.append(label);
    }
  });
  const axis = height - RIDGE.bottom + 16;
  for (const [x, value, anchor] of [[RIDGE.left, hist.edges[0]!, 'start'], [RIDGE.left + plotW, hist.edges[bins]!, 'end']] as const) {
    const t = svg('text', { x, y: axis, 'text-anchor': anchor, 'font-size': 11 });
    t.textContent = formatNumber(value);
    out.append(t);
  }
  const caption = svg('text', { x: RIDGE.left + plotW / 2, y: axis, 'text-anchor': 'middle', 'font-size': 11 });
  caption.textContent = `${hist.layer} ${hist.weight} value (${bins} shared bins)`;
  out.append(caption);
  return out;
}

/** Whether the run's charts are open: kept as the slider moves, so they follow the step. */
let chartsOpen = false;

/**
 * The time slider of a training run (TensorBoard's view over steps): when the page shows a snapshot of
 * a `train --watch` run, a slider steps through the run's snapshots keeping the layer, filter and grid
 * options, so filters and histograms are seen per step; the relative-change chart of the whole run is
 * one click away. Returns nothing when the model is not part of a run.
 */
export function runSlider(backend: Backend, router: Router, state: ViewState): HTMLElement | null {
  const runs = backend.runs();
  const r = runs.findIndex((run) => run.members.some((m) => m.model === state.model));
  if (r < 0) return null;
  const run = runs[r]!;
  const at = run.members.findIndex((m) => m.model === state.model);
  const label = h('span', { 'data-testid': 'run-step' }, `step ${run.members[at]!.step} (${at + 1} of ${run.members.length})`);
  const slider = h('input', {
    type: 'range',
    min: 0,
    max: run.members.length - 1,
    value: at,
    'data-testid': 'run-slider',
    'aria-label': `training step of ${run.name}`,
    'aria-valuetext': `step ${run.members[at]!.step}`,
  });
  slider.addEventListener('input', () => {
    const m = run.members[Number(slider.value)]!;
    label.textContent = `step ${m.step} (${Number(slider.value) + 1} of ${run.members.length})`;
  });
  slider.addEventListener('change', () => router.replace({ model: run.members[Number(slider.value)]!.model }));
  const step = run.members[at]!.step;
  const charts = h('details', { class: 'run-charts' }, h('summary', {}, 'histograms and relative change over the run'));
  const fill = (): void => {
    if (!charts.open || charts.querySelector('img') || !backend.runChartUrl) return;
    const histograms = h('div', { class: 'run-histograms' }, h('p', { class: 'hint' }, 'reading every step…'));
    charts.append(
      histograms,
      h('img', { src: backend.runChartUrl(r, 'change', step), alt: `relative change of each kernel over ${run.name}, step ${step} marked`, 'data-testid': 'run-change-chart' }),
      h('img', { src: backend.runChartUrl(r, 'update-ratio'), alt: `update ratio of each kernel over ${run.name}` }),
    );
    backend
      .runHistograms?.(r, state.layer)
      .then((hist) => histograms.replaceChildren(h('h4', {}, `${hist.layer} ${hist.weight} over the steps`), ridges(hist, step)))
      .catch((e: unknown) => setStatus(viewerError(e), 'error'));
  };
  charts.open = chartsOpen;
  charts.addEventListener('toggle', () => {
    chartsOpen = charts.open;
    fill();
  });
  fill();
  return h('div', { class: 'run-slider', 'data-testid': 'run' }, h('label', {}, `${run.name}: `, slider), label, charts);
}
