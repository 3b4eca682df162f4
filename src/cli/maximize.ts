import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Objective } from '../compute/maximize.js';
import { PRESETS, type Preset } from '../compute/choices.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action, parseIndex } from './run.js';

export interface MaximizeCliOptions extends ModelOptions {
  layer: string;
  filter?: number;
  filters?: number[];
  objective: Objective;
  steps: number;
  lr: number;
  seed: number;
  transforms: 'on' | 'none';
  tv: number;
  l2: number;
  preprocess?: Preset;
  format: 'png' | 'npy';
  out?: string;
}

export function parseRange(value: string): number[] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`Expects a filter range like 0-15 or one index, but received '${value}'.`);
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (to < from || to - from >= 256) throw new InvalidArgumentError(`Expects a range of 1 to 256 filters, first <= last, but received '${value}'.`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function parseNonNegative(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError('Expects a number >= 0.');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('Expects a positive integer.');
  return n;
}

export function registerMaximize(program: Command): void {
  const command = program
    .command('maximize')
    .description('what does filter j detect? the image that excites it most, by gradient ascent on a Fourier-parameterised image (activation maximization)')
    .argument('<model>', 'ONNX .onnx (gradients on ONNX Runtime), Keras .h5 / .keras or TF.js model.json with its architecture')
    .requiredOption('--layer <name>', 'the layer whose filters are visualised; for ONNX a node name, a value name or a PyTorch module path, as activations --layer')
    .option('--filter <j>', 'one filter', parseIndex)
    .option('--filters <range>', 'filters first-last, e.g. 0-15 (default: 0-15, or fewer if the layer has fewer)', parseRange)
    .addOption(new Option('--objective <o>', "channel: mean of the filter's output over positions; neuron: its output at the centre position").choices(['channel', 'neuron']).default('channel'))
    .option('--steps <n>', 'optimisation steps (Adam)', parsePositive, 256)
    .option('--lr <rate>', 'Adam learning rate on the Fourier coefficients', parseNonNegative, 0.05)
    .option('--seed <n>', 'seed of the initial image and of the transformations', parseIndex, 0)
    .addOption(new Option('--transforms <t>', 'on: random jitter, scale (0.95-1.05) and rotation (+-10 degrees) each step; none: off').choices(['on', 'none']).default('on'))
    .option('--tv <weight>', 'total-variation penalty (mean squared difference of neighbouring pixels)', parseNonNegative, 0)
    .option('--l2 <weight>', 'L2 penalty (mean squared distance of the pixels from mid-grey)', parseNonNegative, 0)
    .addOption(new Option('--preprocess <preset>', "how 0..1 pixels become the model input, as activations --preprocess: unit as is, raw x255, symmetric 2x-1, caffe BGR x255 minus the ImageNet mean, torchvision ImageNet mean and std (default: the model's own, as activations decides it)").choices([...PRESETS]))
    .addOption(new Option('--format <format>', 'png: a labelled grid; npy: the images, float32 (filters, H, W, C) in 0..1').choices(['png', 'npy']).default('png'))
    .option('--out <file>', 'output file (default: <layer>-maximize.<format>)');
  addModelOptions(command).action(
    action(async (path: string, options: MaximizeCliOptions) => {
      const { runMaximize } = await import('./maximize-run.js');
      await runMaximize(path, options);
    }),
  );
}
