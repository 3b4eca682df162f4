import { InvalidArgumentError } from 'commander';
import type { LayerKind } from '../model/axes.js';

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
