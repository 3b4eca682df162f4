import { InvalidArgumentError, Option, type Command } from 'commander';
import { COLORMAP_NAMES, DEFAULT_COLORMAP } from '../render/choices.js';
import type { ChannelMode, Normalization } from '../render/display.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action } from './run.js';

export interface FiltersOptions extends ModelOptions {
  layer?: string;
  out?: string;
  normalize: Normalization;
  cmap: string;
  channels: ChannelMode;
  filters?: number[];
  scale?: number;
  labels: boolean;
  weight?: string;
}

/** `auto|rgb|each|mean|<c>` */
export function parseChannels(value: string): ChannelMode {
  if (['auto', 'rgb', 'each', 'mean'].includes(value)) return value as ChannelMode;
  if (/^\d+$/.test(value)) return Number(value);
  throw new InvalidArgumentError(`Expects auto, rgb, each, mean or an input channel index, but received '${value}'.`);
}

/** `0-15,20` -> [0, 1, ..., 15, 20] */
export function parseRange(value: string): number[] {
  const out: number[] = [];
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new InvalidArgumentError(`Expects filter indices like 0-15,20, but received '${value}'.`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new InvalidArgumentError(`Expects ranges written low-high, but received '${part.trim()}'.`);
    if (to - from > 1_000_000) throw new InvalidArgumentError(`The range '${part.trim()}' is too long.`);
    for (let i = from; i <= to; i++) out.push(i);
  }
  return out;
}

function parsePixels(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 64) throw new InvalidArgumentError(`Expects a whole number of pixels from 1 to 64, but received '${value}'.`);
  return n;
}

export function registerFilters(program: Command): void {
  addModelOptions(program.command('filters'))
    .description('draw the filters of a layer as a grid of tiles (PNG or SVG) on one honest, shared scale')
    .argument('<model>', 'model file: .h5, .keras, .weights.h5, model.json, .pt/.pth, .safetensors, .onnx, a SavedModel directory or a TF checkpoint (prefix, .index or checkpoint file)')
    .option('--layer <name|all>', 'layer to draw, or all (one image per layer with a kernel, plus index.html) (default: the first layer with a conv kernel)')
    .option('--out <file.png|file.svg|dir>', 'output file or directory (default: <layer>-filters.png; for all: <model>-filters/)')
    .addOption(
      new Option('--normalize <mode>', 'shared: one symmetric scale for the whole layer; per-filter: each tile on its own')
        .choices(['shared', 'per-filter'])
        .default('shared'),
    )
    .addOption(new Option('--cmap <name>', `colormap: ${COLORMAP_NAMES.join(', ')}`).default(DEFAULT_COLORMAP))
    .addOption(
      new Option('--channels <auto|rgb|each|mean|c>', 'input channels: rgb composite, each as columns, their mean, or channel c; auto = rgb for 3 inputs, else each')
        .argParser(parseChannels)
        .default('auto'),
    )
    .option('--filters <range>', 'filters to draw, e.g. 0-15,20 (default: all)', parseRange)
    .option('--scale <px>', 'pixels per kernel cell, 1-64 (default: automatic, tiles about 36 px)', parsePixels)
    .option('--labels', 'draw filter indices in the PNG (SVG always has them)', false)
    .option('--weight <role>', 'weight role or stored name (default: every kernel of the layer)')
    .action(
      action(async (path: string, options: FiltersOptions) => {
        const { runFilters } = await import('./filters-run.js');
        await runFilters(path, options);
      }),
    );
}
