import { InvalidArgumentError, type Command } from 'commander';
import type { LayerKind } from '../model/axes.js';
import type { Model } from '../model/model.js';
import { openModel } from '../formats/open.js';

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

/** How a command's model file is read: an architecture for weights-only files, layer kinds shape cannot tell. */
export interface ModelOptions {
  config?: string;
  layout?: Record<string, LayerKind>;
}

/** Adds `--config` and `--layout` to a command that reads one model file. */
export function addModelOptions(command: Command): Command {
  return command
    .option('--config <arch.json>', 'architecture JSON for a weights-only file (model.to_json())')
    .option('--layout <layer=kind>', LAYOUT_HELP, collectLayout);
}

/** Opens the model at `path` as the options say (the caller closes it). */
export function withModelOptions(path: string, options: ModelOptions): Promise<Model> {
  return openModel(path, {
    ...(options.config ? { config: options.config } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
  });
}

/** Opens the model at `path` as the options say, runs `work` on it and closes it whatever happens. */
export async function withModel<T>(path: string, options: ModelOptions, work: (model: Model) => Promise<T>): Promise<T> {
  const model = await withModelOptions(path, options);
  try {
    return await work(model);
  } finally {
    model.close();
  }
}
