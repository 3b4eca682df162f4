import { Option, type Command } from 'commander';
import type { Preset } from '../compute/choices.js';
import type { ResizeMode } from '../io/image-fit.js';
import { UsageError } from '../model/errors.js';
import { COLORMAP_NAMES, DEFAULT_MAP_COLORMAP } from '../render/choices.js';
import type { MapNormalization } from '../render/feature-maps.js';
import { addPreprocessOptions, collectLambda, LAMBDA_HELP } from './model-options.js';
import { action, parseIndex } from './run.js';

export interface ActivationsOptions {
  image?: string[];
  input?: string;
  layer?: string;
  out?: string;
  format: 'png' | 'npy';
  preprocess?: Preset;
  labels?: string;
  engine?: 'ort' | 'tfjs';
  resize?: ResizeMode;
  mean?: number[];
  std?: number[];
  top?: number;
  normalize: MapNormalization;
  cmap: string;
  config?: string;
  lambda?: Record<string, string>;
}

export function registerActivations(program: Command): void {
  const command = program
    .command('activations')
    .description('run the network on images (or an array) and save what each layer outputs: feature-map grids or .npy')
    .argument('<model>', 'ONNX .onnx, Keras .h5 / .keras, a Keras SavedModel directory or TF.js model.json with its architecture')
    .option('--image <files...>', 'input images (PNG, JPEG, WebP, ...); several make a batch')
    .option('--input <file.npy>', 'an already preprocessed array, with or without the batch axis, fed as is');
  addPreprocessOptions(command)
    .option('--layer <names|all>', 'layer(s) whose output to save, comma-separated, or all (default: the first convolution); for ONNX a node name, a value name or a PyTorch module path (layer1.0.conv1)')
    .option('--out <dir|file>', 'output directory, or one .png/.npy file for one layer and image (default: . ; <model>-activations/ for all)')
    .addOption(new Option('--format <format>', 'png: a feature-map grid per layer (bars for vectors); npy: the raw output with its batch axis').choices(['png', 'npy']).default('png'))
    .option('--top <k>', 'print the k largest outputs of the final layer with their indices (and class names, from --labels or the model metadata)', parseIndex)
    .option('--labels <file>', 'class names for --top: JSON array, {"labels": [...]}, or one per line')
    .addOption(new Option('--engine <name>', 'forward engine for Keras / TF.js models: ort (ONNX Runtime, converted in memory; falls back to tfjs, saying why, for layers without a conversion) or tfjs (TensorFlow.js); ONNX models always run on ort').choices(['ort', 'tfjs']).default('ort'))
    .addOption(new Option('--normalize <mode>', 'tile colour scale').choices(['per-channel', 'shared']).default('per-channel'))
    .addOption(new Option('--cmap <name>', 'colormap of the feature maps').choices([...COLORMAP_NAMES]).default(DEFAULT_MAP_COLORMAP))
    .option('--config <arch.json>', 'architecture JSON for a weights-only file')
    .option('--lambda <layer=expression>', LAMBDA_HELP, collectLambda)
    .action(
      action(async (path: string, options: ActivationsOptions) => {
        if (!options.image === !options.input) throw new UsageError('Give the network an input: --image <file>... or --input <file.npy> (one of them).');
        const { runActivations } = await import('./activations-run.js');
        await runActivations(path, options);
      }),
    );
}
