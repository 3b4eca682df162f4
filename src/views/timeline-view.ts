import { BARELY_CHANGED_BELOW } from '../analyze/change.js';
import type { Timeline, TimelineSeries } from '../analyze/timeline.js';
import { logLineChart, type ChartSeries } from '../render/timeline.js';

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

/** The relative change of every kernel against the first snapshot, as an SVG chart (undefined without snapshots). */
export function changeChart(timeline: Timeline): string | undefined {
  if (timeline.snapshots === 0) return undefined;
  const first = timeline.series[0]!.points.find((q) => q.relativeChange !== null)!.step;
  return logLineChart({
    title: '||W_t - W_0|| / ||W_0||: how far each kernel has moved from the first snapshot',
    yLabel: 'relative change (log)',
    // The first snapshot against itself (0) has no place on a log scale.
    series: chartSeries(timeline, (p) => (p.step === first ? null : p.relativeChange)),
    reference: { value: BARELY_CHANGED_BELOW, label: `barely changed below ${BARELY_CHANGED_BELOW}` },
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
