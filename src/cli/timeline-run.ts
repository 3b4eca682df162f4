import { join } from 'node:path';
import type { Timeline } from '../analyze/timeline.js';
import { readTimeline } from '../views/timeline-run.js';
import { writeFileAtomic } from '../io/write.js';
import { filterStrip, timelinePage, type TimelineFigure } from '../render/timeline.js';
import { changeChart, updateRatioChart } from '../views/timeline-view.js';
import { formatNumber } from '../model/format.js';
import { table } from './format.js';
import type { TimelineOptions } from './timeline.js';

/** The work of `convscope timeline`, loaded only when the command runs. */

function summaryRows(timeline: Timeline): string[][] {
  return [
    ['layer', 'weight', 'verdict', 'rel. change (last vs first)', 'median update ratio'],
    ...timeline.series.map((s) => [
      s.layer,
      s.role,
      s.verdict ?? '-',
      s.final ? formatNumber(s.final.relativeChange, 3) : '-',
      s.medianUpdateRatio === null ? '-' : formatNumber(s.medianUpdateRatio, 3),
    ]),
  ];
}

/** Writes the charts, the filter strip and index.html into `out`; returns the paths, index.html first. */
async function writeTimeline(timeline: Timeline, out: string, cmap: string | undefined): Promise<string[]> {
  const figures: TimelineFigure[] = [];
  const svg = (s: string) => new TextEncoder().encode(s);
  if (timeline.snapshots > 0) {
    figures.push({
      title: 'Relative change of each kernel against the first snapshot',
      file: 'timeline-change.svg',
      mime: 'image/svg+xml',
      bytes: svg(changeChart(timeline)!),
      lines: [`${timeline.snapshots} snapshots, each against the first`],
    });
  }
  figures.push({
    title: 'Update ratio per recorded step',
    file: 'timeline-update-ratio.svg',
    mime: 'image/svg+xml',
    bytes: svg(updateRatioChart(timeline)),
    lines: ['below about 1e-5 a layer barely learns (learning rate too low, inputs not scaled); above about 1e-1 updates overshoot'],
  });
  if (timeline.strip && timeline.strip.frames.length > 0) {
    const strip = filterStrip(timeline.strip, cmap ? { colormap: cmap } : {});
    figures.push({
      title: `${timeline.strip.layer} filters over time`,
      file: `${timeline.strip.layer.replace(/[^\w.-]+/g, '_')}-filters-over-time.png`,
      mime: 'image/png',
      bytes: strip.png,
      lines: [`steps ${timeline.strip.steps.join(', ')}`, ...strip.lines],
    });
  }
  for (const f of figures) await writeFileAtomic(join(out, f.file), f.bytes);
  const index = join(out, 'index.html');
  await writeFileAtomic(index, timelinePage(`Training timeline of ${timeline.dir}`, summaryRows(timeline), figures));
  return [index, ...figures.map((f) => join(out, f.file))];
}

export async function runTimeline(dir: string, options: TimelineOptions): Promise<void> {
  const timeline = await readTimeline(dir, options.layer === undefined ? {} : { layer: options.layer });
  const lines = [`${timeline.records} records, ${timeline.snapshots} snapshots in ${dir}`, '', table(summaryRows(timeline))];
  if (timeline.snapshots === 0) lines.push('', 'note: no snapshots (watchWeights with snapshots: false), so no relative change and no filter strip');
  const written = await writeTimeline(timeline, options.out ?? join(dir, 'timeline'), options.cmap);
  lines.push('', 'wrote:', ...written.map((w) => `  ${w}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}
