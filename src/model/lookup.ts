import { distance } from 'fastest-levenshtein';
import type { AxisName } from './axes.js';
import { SelectionError } from './errors.js';
import { modulePath, withinModule } from './module-path.js';
import type { Framework, Layer, Model, Weight } from './model.js';

/** Up to three names closest to `wanted`, for "did you mean" hints; a name differing only in case comes first. */
export function closestNames(wanted: string, names: readonly string[]): string[] {
  const w = wanted.toLowerCase();
  const score = (n: string): number => {
    const l = n.toLowerCase();
    if (l === w) return -1;
    return l.includes(w) || w.includes(l) ? 0 : distance(w, l);
  };
  return names
    .map((n) => ({ n, d: score(n) }))
    .filter(({ n, d }) => d <= Math.max(2, Math.floor(n.length / 3)))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ n }) => n);
}

/** ` Did you mean 'a' or 'b'?` for the names closest to `wanted`, or ''. */
export function didYouMean(wanted: string, names: readonly string[]): string {
  const close = closestNames(wanted, names);
  return close.length > 0 ? ` Did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : '';
}

/** The first `count` names, then how many more (a list that ends a sentence ends '... and 3 more.', not ', ....'). */
export function listed(names: readonly string[], count: number): string {
  return `${names.slice(0, count).join(', ')}${names.length > count ? ` and ${names.length - count} more` : ''}`;
}

/** In an ONNX export, the names of the layers inside the PyTorch module `module` (none for other formats). */
export function layersInModule(format: string, names: readonly string[], module: string): string[] {
  return format === 'onnx' ? names.filter((n) => withinModule(modulePath(n), module)) : [];
}

/**
 * The layer called `name`, or in an ONNX export the one layer inside the PyTorch module `name`
 * (`layer3.0.conv1` is `/layer3/layer3.0/conv1/Conv`, as activations and maximize read a module
 * path); a SelectionError that suggests close names otherwise.
 */
export function findLayer(model: Model, name: string): Layer {
  const layer = model.layers.find((l) => l.name === name);
  if (layer) return layer;
  const inside = layersInModule(model.format, model.layers.map((l) => l.name), name);
  if (inside.length === 1) return model.layers.find((l) => l.name === inside[0])!;
  if (inside.length > 1) {
    throw new SelectionError(`${model.source}'s module '${name}' holds ${inside.length} layers with weights (${listed(inside, 6)}); name one of them.`);
  }
  const names = model.layers.map((l) => l.name);
  const hint = didYouMean(name, names);
  throw new SelectionError(
    `${model.source} has no layer '${name}'.${hint || ` Its layers are: ${listed(names, 12)}.`}`,
  );
}

/** The weight of `layer` with the given role or stored name; by default the kernel (else the first weight). */
export function findWeight(layer: Layer, wanted?: string): Weight {
  if (layer.weights.length === 0) {
    throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no weights.`);
  }
  if (wanted === undefined) {
    return (
      layer.weights.find((w) => w.role === 'kernel') ??
      layer.weights.find((w) => w.role.endsWith('kernel')) ??
      layer.weights[0]!
    );
  }
  const hit =
    layer.weights.find((w) => w.role === wanted) ??
    layer.weights.find((w) => w.name === wanted) ??
    layer.weights.find((w) => shortName(w.name) === wanted);
  if (hit) return hit;
  const names = layer.weights.map((w) => w.role);
  throw new SelectionError(
    `Layer '${layer.name}' has no weight '${wanted}'; it has ${names.map((n) => `'${n}'`).join(', ')}.${didYouMean(wanted, names)}`,
  );
}

/** The last component of a stored weight name, without a ':0' suffix (`conv_1/kernel:0` -> `kernel`). */
export function shortName(name: string): string {
  const last = name.split(/[/.]/).pop() ?? name;
  return last.replace(/:\d+$/, '');
}

/**
 * The expression that takes the same slice in the user's own framework:
 * `kernel[:, :, c, j]` (Keras, NumPy style), `weight[j, c]` (PyTorch). Trailing whole axes are dropped,
 * as both NumPy and PyTorch allow.
 */
export function indexExpression(
  framework: Framework,
  weight: Pick<Weight, 'name' | 'role' | 'axes'>,
  selection: Partial<Record<AxisName, number>>,
): string {
  const variable = framework === 'pytorch' || framework === 'safetensors' || framework === 'onnx' ? shortName(weight.name) : weight.role;
  const parts = weight.axes.map((a) => (selection[a] === undefined ? ':' : String(selection[a])));
  while (parts.length > 0 && parts[parts.length - 1] === ':') parts.pop();
  return parts.length === 0 ? variable : `${variable}[${parts.join(', ')}]`;
}
