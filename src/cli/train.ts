import { InvalidArgumentError, Option, type Command } from 'commander';
import type { WatchEvery } from '../compute/watch.js';
import type { PixelScale } from '../data/dataset.js';
import { DATA_SPEC_HELP } from '../data/spec.js';
import { action, parseIndex } from './run.js';

export interface TrainCliOptions {
  data: string;
  epochs: number;
  batch: number;
  lr?: number;
  optimizer: 'sgd' | 'adam';
  scale: PixelScale;
  out: string;
  watch?: WatchEvery;
  testFraction: number;
  seed: number;
  config?: string;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('Expects a positive number.');
  return n;
}

function parseCount(value: string): number {
  const n = parseIndex(value);
  if (n === 0) throw new InvalidArgumentError('Expects a positive integer.');
  return n;
}

function parseWatch(value: string): WatchEvery {
  if (value === 'every-epoch') return 'epoch';
  const m = /^(\d+)-batch(es)?$/.exec(value);
  if (m && Number(m[1]) > 0) return { batches: Number(m[1]) };
  throw new InvalidArgumentError("Expects 'every-epoch' or '<n>-batches' (e.g. 50-batches).");
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on a data set (gradients on ONNX Runtime when it covers the layers, else TensorFlow.js wasm), with a progress bar, checkpoints and optional weight watching')
    .argument('<model-or-config>', 'Keras (.keras, .h5) or TF.js model.json to continue from, or an architecture JSON to start fresh')
    .requiredOption('--data <spec>', `data set: ${DATA_SPEC_HELP}`)
    .option('--epochs <n>', 'passes over the training set', parseCount, 5)
    .option('--batch <n>', 'images per update', parseCount, 32)
    .option('--lr <x>', 'learning rate (default: 0.01 for sgd, 0.001 for adam)', parsePositive)
    .addOption(new Option('--optimizer <name>', 'update rule').choices(['sgd', 'adam']).default('adam'))
    .addOption(new Option('--scale <scale>', 'pixel scale fed to the model: raw 0..255 or unit 0..1').choices(['raw', 'unit']).default('unit'))
    .option('--out <dir>', 'checkpoint directory: epoch-NNN/ per epoch (model.json, weights.bin, model.safetensors)', 'convscope-train')
    .option('--watch <every>', "record weight snapshots and health: 'every-epoch' or '<n>-batches' (into <out>/watch)", parseWatch)
    .option('--test-fraction <f>', 'held-out share for data sets without an official test split', parsePositive, 0.2)
    .option('--seed <n>', 'seed of the split and the shuffles', parseIndex, 0)
    .option('--config <arch.json>', 'architecture JSON for a weights-only file')
    .action(
      action(async (path: string, options: TrainCliOptions) => {
        const { runTrain } = await import('./train-run.js');
        await runTrain(path, options);
      }),
    );
}
