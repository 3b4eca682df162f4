import { BARELY_CHANGED_BELOW } from '../analyze/change.js';
import type { Timeline, TimelineSeries } from '../analyze/timeline.js';
import { logLineChart, type ChartSeries } from '../render/timeline.js';
import { histogram } from '../render/histogram.js';
import { SelectionError } from '../model/errors.js';
import { findFirstConvLayer, kernelOf } from '../model/filters.js';
import { findLayer } from '../model/lookup.js';
import type { Model } from '../model/model.js';

/** Update ratios per step that train well (the shaded band of the update-ratio chart). */
const HEALTHY = { low: 1e-4, high: 1e-2 };

function seriesName(s: TimelineSeries): string {
  return s.role === 'kernel' ? s.layer : `${s.layer}/${s.role}`;
}

function chartSeries(timeline: Timeline, pick: (p: TimelineSeries['points'][number]) => number | null): ChartSeries[] {
  return timeline.series.map((s) => ({
    name: seriesName(s),
    points: s.points.flatMap((p) => {
      const v = pick(p);
      return v === null ? [] : [[p.step, v] as const];
    }),
  }));
}

/**
 * The relative change of every kernel against the first snapshot, as an SVG chart (undefined without
 * snapshots); `step` marks the snapshot a surface shows.
 */
export function changeChart(timeline: Timeline, step?: number): string | undefined {
  if (timeline.snapshots === 0) return undefined;
  const first = timeline.series[0]!.points.find((q) => q.relativeChange !== null)!.step;
  return logLineChart({
    title: '||W_t - W_0|| / ||W_0||: how far each kernel has moved from the first snapshot',
    yLabel: 'relative change (log)',
    // The first snapshot against itself (0) has no place on a log scale.
    series: chartSeries(timeline, (p) => (p.step === first ? null : p.relativeChange)),
    reference: { value: BARELY_CHANGED_BELOW, label: `barely changed below ${BARELY_CHANGED_BELOW}` },
    ...(step !== undefined ? { marker: { step, label: `step ${step} (shown)` } } : {}),
  });
}

/** The update ratio of every kernel per recorded step, as an SVG chart with the healthy band. */
export function updateRatioChart(timeline: Timeline): string {
  return logLineChart({
    title: '||W - W_before|| / ||W|| of the last update before each record',
    yLabel: 'update ratio (log)',
    series: chartSeries(timeline, (p) => p.updateRatio),
    band: { ...HEALTHY, label: 'healthy: about 1e-3 per update' },
  });
}

/** One kernel's histogram at every snapshot of a run, all on the same bins (TensorBoard's histograms over steps). */
export interface StepHistograms {
  layer: string;
  weight: string;
  /** The bins' edges (bins + 1 of them), from the smallest to the largest value over every step. */
  edges: number[];
  steps: { step: number; counts: number[] }[];
}

/**
 * The histogram of a layer's kernel (default: the first convolution) at each snapshot, on shared bins
 * spanning every step's values, so the ridges line up and a drift or a widening shows. Each snapshot
 * is read twice (its range, then its counts), one at a time, so memory stays at one kernel.
 */
export async function stepHistograms(snapshots: readonly { step: number; model: Model }[], layerName?: string, bins = 40): Promise<StepHistograms> {
  const first = snapshots[0]?.model;
  if (!first) throw new SelectionError('This run has no snapshots.');
  const layer = layerName !== undefined ? findLayer(first, layerName) : findFirstConvLayer(first);
  const kernel = layer ? kernelOf(layer) : undefined;
  if (!layer || !kernel) throw new SelectionError(`${layer ? `Layer '${layer.name}'` : 'This run'} has no kernel to follow over the steps.`);
  const kernelAt = (m: Model) => kernelOf(findLayer(m, layer.name))!;
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of snapshots) {
    const stats = (await kernelAt(s.model).read()).stats();
    if (Number.isFinite(stats.min)) lo = Math.min(lo, stats.min);
    if (Number.isFinite(stats.max)) hi = Math.max(hi, stats.max);
  }
  if (!(lo <= hi)) [lo, hi] = [0, 1];
  const steps: StepHistograms['steps'] = [];
  let edges: number[] = [];
  for (const s of snapshots) {
    const h = histogram((await kernelAt(s.model).read()).data, bins, [lo, hi]);
    edges = h.edges;
    steps.push({ step: s.step, counts: h.counts });
  }
  return { layer: layer.name, weight: kernel.role, edges, steps };
}
