import { InvalidArgumentError, Option, type Command } from 'commander';
import { ATTRIBUTION_METHODS, type AttributionMethod } from '../analyze/choices.js';
import type { Preset } from '../compute/choices.js';
import type { ResizeMode } from '../io/image-fit.js';
import { UsageError } from '../model/errors.js';
import { COLORMAP_NAMES } from '../render/choices.js';
import { addModelOptions, addPreprocessOptions, type ModelOptions } from './model-options.js';
import { action, parseIndex } from './run.js';

export interface AttributeCliOptions extends ModelOptions {
  image?: string;
  input?: string;
  method: AttributionMethod;
  class?: number;
  layer?: string;
  out?: string;
  format: 'png' | 'npy';
  preprocess?: Preset;
  resize?: ResizeMode;
  mean?: number[];
  std?: number[];
  top: number;
  labels?: string;
  steps: number;
  baseline: number;
  window?: number;
  stride?: number;
  samples: number;
  noise: number;
  seed: number;
  cmap?: string;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !(n >= 1)) throw new InvalidArgumentError('Expects a positive integer.');
  return n;
}

function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('Expects a number.');
  return n;
}

export function registerAttribute(program: Command): void {
  const command = program
    .command('attribute')
    .description('where does the network look? saliency, SmoothGrad, Grad-CAM, Grad-CAM++, Score-CAM, integrated gradients or occlusion for one image, drawn over it')
    .argument('<model>', 'Keras .h5 / .keras, TF.js model.json with its architecture, or ONNX model')
    .option('--image <file>', 'the image to explain (PNG, JPEG, WebP, ...)')
    .option('--input <file.npy>', 'an already preprocessed array (one sample), fed as is')
    .addOption(new Option('--method <name>', 'attribution method').choices([...ATTRIBUTION_METHODS]).default('gradcam'))
    .option('--class <c>', 'class index to explain (default: the top class)', parseIndex)
    .option('--layer <name>', 'Grad-CAM(++) and Score-CAM layer (default: the activation after the last convolution, else the last layer with a spatial output)')
    .option('--out <file>', 'output file (default: <image or input name>-<method>.<format>)')
    .addOption(new Option('--format <format>', 'png: input, map and overlay with a colour bar; npy: the raw, unnormalised map (float32, [H, W])').choices(['png', 'npy']).default('png'));
  addPreprocessOptions(command);
  addModelOptions(command)
    .option('--top <k>', 'class scores to print and draw', parseIndex, 3)
    .option('--labels <file>', 'class names: JSON array, {"labels": [...]}, or one per line (default: metadata.json beside a model.json)')
    .option('--steps <n>', 'integrated gradients: steps of the midpoint Riemann sum', parsePositive, 50)
    .option('--baseline <value>', 'integrated gradients: baseline input value; occlusion: the fill value (model-input units, after preprocessing)', parseNumber, 0)
    .option('--window <px>', 'occlusion: window side in input pixels (default: ceil(min(H, W) / 7))', parsePositive)
    .option('--stride <px>', 'occlusion: stride in input pixels (default: half the window)', parsePositive)
    .option('--samples <n>', 'SmoothGrad: noisy samples', parsePositive, 25)
    .option('--noise <fraction>', 'SmoothGrad: noise standard deviation as a fraction of max(x) - min(x)', parseNumber, 0.15)
    .option('--seed <n>', 'SmoothGrad: seed of the noise', parseIndex, 0)
    .addOption(new Option('--cmap <name>', 'colormap (default: inferno; rdbu_r for signed maps)').choices([...COLORMAP_NAMES]))
    .action(
      action(async (path: string, options: AttributeCliOptions) => {
        if (!options.image === !options.input) throw new UsageError('Give the network an input: --image <file> or --input <file.npy> (one of them).');
        const { runAttribute } = await import('./attribute-run.js');
        await runAttribute(path, options);
      }),
    );
}
