import { basename, extname } from 'node:path';
import { writeFileAtomic } from '../io/write.js';
import { UsageError } from '../model/errors.js';
import { findLayer } from '../model/lookup.js';
import type { Model, Weight } from '../model/model.js';
import { histogram, histogramFigure, statsLine, type HistogramPanel } from '../render/histogram.js';
import { kernelsOf, layersWithKernels } from '../model/filters.js';
import { weightTitle } from '../model/format.js';
import type { HistogramOptions } from './histogram.js';
import { releaseDropped, weightBytes } from './memory.js';
import { withModel } from './open-model.js';

/** The work of `convscope histogram`, loaded only when the command runs. */

function chosenWeights(model: Model, options: HistogramOptions): Weight[] {
  if (options.layer !== 'all') return kernelsOf(model, findLayer(model, options.layer), options.weight);
  const layers = layersWithKernels(model);
  if (layers.length === 0) throw new UsageError(`${model.source} has no layer with a kernel; name a layer and a weight with --layer and --weight.`);
  return layers.flatMap((l) => kernelsOf(model, l, options.weight));
}

export async function runHistogram(path: string, options: HistogramOptions): Promise<void> {
  const out = options.out ?? `${basename(path).replace(/\.[^.]+$/, '')}-histogram.svg`;
  const ext = extname(out).toLowerCase();
  if (ext !== '.svg' && ext !== '.png') throw new UsageError(`--out expects a .svg or .png file, but received '${out}'.`);
  await withModel(path, options, async (model) => {
    const panels: HistogramPanel[] = [];
    for (const w of chosenWeights(model, options)) {
      panels.push({ title: weightTitle(w), histogram: histogram((await w.read()).data, options.bins) });
      releaseDropped(weightBytes(w));
    }
    const fig = histogramFigure(panels);
    await writeFileAtomic(out, ext === '.svg' ? fig.svg() : fig.png());
    for (const p of panels) process.stdout.write(`${p.title}: ${statsLine(p.histogram)}\n`);
    process.stdout.write(`wrote ${out}\n`);
  });
}
