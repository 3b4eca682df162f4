import { torchAxes, type LayerKind } from '../model/axes.js';
import type { DType, TensorData } from '../model/dtype.js';
import { UsageError } from '../model/errors.js';
import { closestNames } from '../model/lookup.js';
import { rowReader, type Layer, type Note, type Weight } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';

/**
 * Groups the flat keys of a PyTorch state dict (also safetensors, which mostly comes from PyTorch)
 * into layers: `features.0.weight` and `features.0.bias` become layer `features.0`. A state dict
 * stores no architecture, so each layer's kind is inferred from its weights (running statistics ->
 * BatchNorm; a 3- to 5-D weight -> convolution; 2-D -> Linear) unless the user states it.
 */

export interface StoredTensor {
  /** The key as stored: `features.0.weight`. */
  readonly key: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Reads the values in C order, laid out as `shape`. */
  read(): Promise<TensorData>;
  /** Reads `count` whole rows of the first axis from row `start` (Weight.readRows), where the file can. */
  readRows?(start: number, count: number): Promise<TensorData>;
}

const BN_ROLES: Record<string, string> = {
  weight: 'gamma',
  bias: 'beta',
  running_mean: 'moving_mean',
  running_var: 'moving_variance',
};

const CLASS_NAMES: Record<LayerKind, (rank: number) => string> = {
  conv: (r) => `Conv${r - 2}d`,
  conv_transpose: (r) => `ConvTranspose${r - 2}d`,
  depthwise_conv: (r) => `Conv${r - 2}d`,
  separable_conv: (r) => `Conv${r - 2}d`,
  dense: () => 'Linear',
  batch_norm: () => 'BatchNorm',
  other: () => 'Tensor',
};

/** torch.nn classes a whole pickled model names, and their kinds. */
const TORCH_CLASS_KINDS: [RegExp, LayerKind][] = [
  [/^torch\.nn\.modules\.conv\.ConvTranspose[123]d$/, 'conv_transpose'],
  [/^torch\.nn\.modules\.conv\.Conv[123]d$/, 'conv'],
  [/^torch\.nn\.modules\.linear\.Linear$/, 'dense'],
  [/^torch\.nn\.modules\.batchnorm\.BatchNorm[123]d$/, 'batch_norm'],
];

function kindOfClass(qualified: string): LayerKind | undefined {
  return TORCH_CLASS_KINDS.find(([re]) => re.test(qualified))?.[1];
}

function splitKey(key: string): [layer: string, last: string] {
  const dot = key.lastIndexOf('.');
  return dot < 0 ? [key, key] : [key.slice(0, dot), key.slice(dot + 1)];
}

function inferKind(tensors: readonly StoredTensor[]): LayerKind {
  const last = new Map(tensors.map((t) => [splitKey(t.key)[1], t]));
  if (last.has('running_mean') || last.has('running_var')) return 'batch_norm';
  const weight = last.get('weight');
  if (!weight) return 'other';
  if (weight.shape.length >= 3 && weight.shape.length <= 5) return 'conv';
  if (weight.shape.length === 2) return 'dense';
  return 'other';
}

function roleOf(kind: LayerKind, last: string, key: string): string {
  if (key === last) return last;
  if (kind === 'batch_norm') return BN_ROLES[last] ?? last;
  if (last === 'weight' && kind !== 'other') return 'kernel';
  return last;
}

export interface TorchLayers {
  layers: Layer[];
  notes: Note[];
}

/**
 * Layers from stored tensors, in file order of their first key. A layer's kind comes from `layout`
 * (the user), else from `classes` (layer name -> torch.nn class a whole pickled model names), else
 * from its weights.
 */
export function groupTorchLayers(
  source: string,
  tensors: readonly StoredTensor[],
  layout: Readonly<Record<string, LayerKind>> = {},
  classes: ReadonlyMap<string, string> = new Map(),
): TorchLayers {
  const groups = new Map<string, StoredTensor[]>();
  for (const t of tensors) {
    const [layer] = splitKey(t.key);
    const list = groups.get(layer) ?? [];
    list.push(t);
    groups.set(layer, list);
  }
  for (const name of Object.keys(layout)) {
    if (!groups.has(name)) {
      const close = closestNames(name, [...groups.keys()]);
      throw new UsageError(
        `The layout given names layer '${name}', but ${source} has no such layer.${close.length ? ` Did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : ''}`,
        { concept: 'layout' },
      );
    }
  }
  const layers: Layer[] = [];
  const perGroup: string[] = [];
  for (const [name, members] of groups) {
    const pickled = classes.get(name) ?? '';
    const pickledKind = kindOfClass(pickled);
    const kind = layout[name] ?? pickledKind ?? inferKind(members);
    const weights: Weight[] = members.map((t) => {
      const [, last] = splitKey(t.key);
      const role = roleOf(kind, last, t.key);
      const axes = torchAxes(kind, role, t.shape.length);
      return {
        name: t.key,
        role,
        shape: t.shape,
        axes,
        dtype: t.dtype,
        layer: name,
        read: async () => new NamedTensor(axes, t.shape, await t.read()),
        ...(t.readRows && t.shape.length > 0 ? { readRows: rowReader({ source, name: t.key, shape: t.shape, axes }, t.readRows.bind(t)) } : {}),
      };
    });
    const kernel = weights.find((w) => w.role === 'kernel');
    if (kernel && (kind === 'conv' || kind === 'conv_transpose') && kernel.shape[1] === 1 && kernel.shape[0]! > 1) perGroup.push(name);
    layers.push({
      name,
      className: pickledKind && !layout[name] ? pickled.slice(pickled.lastIndexOf('.') + 1) : CLASS_NAMES[kind](kernel?.shape.length ?? 2),
      kind,
      config: layout[name] ? { layout: layout[name] } : {},
      inbound: [],
      weights,
    });
  }
  const notes: Note[] =
    classes.size > 0
      ? []
      : [
          {
            text: "A state dict stores no architecture: layer classes are inferred from weight names and shapes; state a layer's kind where a ConvTranspose weight [in, out, ...] would pass for a Conv.",
            concept: 'layout',
          },
        ];
  if (perGroup.length > 0) {
    notes.push({
      text: `${perGroup.slice(0, 4).join(', ')}${perGroup.length > 4 ? ` and ${perGroup.length - 4} more` : ''} ${perGroup.length === 1 ? 'has' : 'have'} one input channel per filter (depthwise or grouped convolution, or a single-channel input): PyTorch stores grouped kernels as [out, in/groups, ...], so there 'in' counts input channels within the filter's group.`,
    });
  }
  return { layers, notes };
}
