import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_BINS } from '../render/choices.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action } from './run.js';

export interface HistogramOptions extends ModelOptions {
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
        const { runHistogram } = await import('./histogram-run.js');
        await runHistogram(path, options);
      }),
    );
}
