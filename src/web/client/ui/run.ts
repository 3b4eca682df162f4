import type { Backend } from '../backend.js';
import { h } from '../dom.js';
import type { Router, ViewState } from '../state.js';

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
  const charts = h('details', { class: 'run-charts' }, h('summary', {}, 'relative change over the run'));
  charts.addEventListener('toggle', () => {
    if (!charts.open || charts.querySelector('img') || !backend.runChartUrl) return;
    charts.append(
      h('img', { src: backend.runChartUrl(r, 'change'), alt: `relative change of each kernel over ${run.name}`, 'data-testid': 'run-change-chart' }),
      h('img', { src: backend.runChartUrl(r, 'update-ratio'), alt: `update ratio of each kernel over ${run.name}` }),
    );
  });
  return h('div', { class: 'run-slider', 'data-testid': 'run' }, h('label', {}, `${run.name}: `, slider), label, charts);
}
