import { basename, extname } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { writeFileAtomic } from '../io/write.js';
import { UsageError } from '../model/errors.js';
import { findLayer } from '../model/lookup.js';
import type { Model, Weight } from '../model/model.js';
import { DEFAULT_BINS, histogram, histogramFigure, statsLine, type HistogramPanel } from '../render/histogram.js';
import { kernelsOf, layersWithKernels } from '../model/filters.js';
import { weightTitle } from '../model/format.js';
import { addModelOptions, withModel, type ModelOptions } from './model-options.js';
import { releaseDropped, weightBytes } from './memory.js';
import { action } from './run.js';

interface HistogramOptions extends ModelOptions {
  layer: string;
  out?: string;
  weight?: string;
  bins: number;
}

function parseBins(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 10000) throw new InvalidArgumentError(`Expects a whole number of bins from 1 to 10000, but received '${value}'.`);
  return n;
}

function chosenWeights(model: Model, options: HistogramOptions): Weight[] {
  if (options.layer !== 'all') return kernelsOf(model, findLayer(model, options.layer), options.weight);
  const layers = layersWithKernels(model);
  if (layers.length === 0) throw new UsageError(`${model.source} has no layer with a kernel; name a layer and a weight with --layer and --weight.`);
  return layers.flatMap((l) => kernelsOf(model, l, options.weight));
}

export function registerHistogram(program: Command): void {
  addModelOptions(program.command('histogram'))
    .description('weight distributions per layer (counts, range, mean, std on each plot) as SVG or PNG')
    .argument('<model>', 'model file')
    .option('--layer <name|all>', 'layer to plot, or all layers with a kernel', 'all')
    .option('--out <file.svg|file.png>', 'output file (default: <model>-histogram.svg)')
    .option('--weight <role>', 'weight role or stored name (default: the kernels)')
    .option('--bins <n>', 'number of equal-width bins', parseBins, DEFAULT_BINS)
    .action(
      action(async (path: string, options: HistogramOptions) => {
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
      }),
    );
}
