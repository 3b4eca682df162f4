import { InvalidArgumentError, Option, type Command } from 'commander';
import { PRESETS } from '../compute/choices.js';
import { RESIZE_MODES } from '../io/image-fit.js';
import type { LayerKind } from '../model/axes.js';
import { DEFAULT_LIMITS, RATIO_FLOOR_BYTES } from '../io/limits.js';

const KINDS: readonly LayerKind[] = ['conv', 'conv_transpose', 'depthwise_conv', 'separable_conv', 'dense', 'batch_norm', 'other'];

export const LAYOUT_HELP = `state a layer's kind where shape alone is ambiguous, e.g. features.3=conv_transpose (repeatable; kinds: ${KINDS.join(', ')})`;

/** Commander collector for repeated `--layout <layer>=<kind>` options. */
export function collectLayout(value: string, previous: Record<string, LayerKind> = {}): Record<string, LayerKind> {
  const eq = value.lastIndexOf('=');
  const layer = value.slice(0, eq).trim();
  const kind = value.slice(eq + 1).trim() as LayerKind;
  if (eq <= 0 || layer === '') throw new InvalidArgumentError(`Expects <layer>=<kind>, but received '${value}'.`);
  if (!KINDS.includes(kind)) throw new InvalidArgumentError(`Expects a kind among ${KINDS.join(', ')}, but received '${kind}'.`);
  return { ...previous, [layer]: kind };
}

export const LAMBDA_HELP =
  "state what a Keras Lambda layer computes so the network can run (its Python code never is): an elementwise expression in x such as lambda_1='x / 127.5 - 1' (+ - * / **, abs sqrt exp log tanh sigmoid relu square minimum maximum), a crop 'x[:, 2:-2, 2:-2, :]', or identity (repeatable)";

/** Commander collector for repeated `--lambda <layer>=<expression>` options (checked when the network is built). */
export function collectLambda(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  const layer = value.slice(0, eq).trim();
  const expression = value.slice(eq + 1).trim();
  if (eq <= 0 || layer === '' || expression === '') throw new InvalidArgumentError(`Expects <layer>=<expression>, but received '${value}'.`);
  return { ...previous, [layer]: expression };
}

/** How a command's model file is read: an architecture for weights-only files, layer kinds shape cannot tell. */
export interface ModelOptions {
  config?: string;
  layout?: Record<string, LayerKind>;
  lambda?: Record<string, string>;
  maxTensorMb?: number;
  maxInflateRatio?: number;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`Expects a positive number, but received '${value}'.`);
  return n;
}

/** Adds `--config`, `--layout`, `--lambda` and the read limits to a command that reads one model file. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--config <arch.json>', 'architecture JSON for a weights-only file (model.to_json())')
    .option('--layout <layer=kind>', LAYOUT_HELP, collectLayout)
    .option('--lambda <layer=expression>', LAMBDA_HELP, collectLambda)
    .option('--max-tensor-mb <n>', `largest tensor or decompressed entry a file may make convscope allocate, in MiB (default: ${DEFAULT_LIMITS.maxTensorBytes / 2 ** 20})`, positive)
    .option('--max-inflate-ratio <n>', `largest decompression ratio accepted for outputs above ${RATIO_FLOOR_BYTES / 2 ** 20} MiB (default: ${DEFAULT_LIMITS.maxInflateRatio})`, positive);
}

export function parseNumbers(value: string): number[] {
  const numbers = value.split(',').map((s) => Number(s.trim()));
  if (numbers.length === 0 || numbers.some((n) => !Number.isFinite(n))) {
    throw new InvalidArgumentError(`Expects numbers separated by commas (e.g. 0.485,0.456,0.406), but received '${value}'.`);
  }
  return numbers;
}

/** The presets and the model's own default, in words (compute/preprocess.ts and compute/default-preprocessing.ts own them). */
const PRESET_HELP =
  'raw 0..255, unit /255, symmetric [-1,1], caffe BGR minus ImageNet mean, torchvision /255 then ImageNet mean/std (default: from the model file: symmetric for Teachable Machine, the pixel scale a convscope checkpoint records, raw for a Keras model with its own Rescaling, torchvision for ONNX, unit otherwise; said with the input)';

/** The resize modes and the model's own default, in words (io/image-fit.ts and compute/default-preprocessing.ts own them). */
const RESIZE_HELP =
  "stretch (whole image, aspect not kept), crop (shorter side to the input, centre kept), torchvision (shorter side to the input / 0.875, centre kept: Resize(256) + CenterCrop(224), torchvision's evaluation transform) or pad (whole image on black) (default: from the model file: crop for Teachable Machine, PyTorch and ONNX models, stretch for Keras, TF.js and TensorFlow ones; said with the input)";

/** How images become the model's input: the options `activations` and `attribute` share. */
export function addPreprocessOptions(command: Command): Command {
  return command
    .addOption(new Option('--preprocess <preset>', PRESET_HELP).choices([...PRESETS]))
    .addOption(new Option('--resize <mode>', `fit images to the model input: ${RESIZE_HELP}`).choices([...RESIZE_MODES]))
    .option('--mean <values>', 'per-channel mean subtracted after the preset, e.g. 0.485,0.456,0.406', parseNumbers)
    .option('--std <values>', 'per-channel std divided by after the mean, e.g. 0.229,0.224,0.225', parseNumbers);
}

/** How a data set's images become the model's input: the options `examples` and `probe` share. */
export function addDataSetPixelOptions(command: Command): Command {
  return command
    .addOption(new Option('--scale <preset>', `how the pixels become the network input: ${PRESET_HELP}`).choices([...PRESETS]))
    .addOption(new Option('--resize <mode>', `how the photographs of a folder: data set are fitted to the model input: ${RESIZE_HELP}`).choices([...RESIZE_MODES]));
}
