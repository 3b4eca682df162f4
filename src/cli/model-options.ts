import { InvalidArgumentError, type Command } from 'commander';
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
