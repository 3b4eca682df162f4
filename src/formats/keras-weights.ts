import { genericAxes, kerasAxes, kerasLayerKind, spatialAxes, type AxisName } from '../model/axes.js';
import type { TensorData } from '../model/dtype.js';
import { ModelFormatError } from '../model/errors.js';
import { rowReader, type Layer, type Note, type Weight } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';
import type { KerasArchitecture, KerasLayerSpec } from './keras-config.js';

/**
 * Shared by every Keras-family reader (HDF5, .keras, .weights.h5, TF.js): stored tensors plus an
 * optional architecture become Layers with roles and named axes.
 */

/** One tensor as a file stores it (name as stored, role, shape, stored dtype), before it is attached to a layer. */
export interface StoredWeight extends Pick<Weight, 'name' | 'role' | 'shape' | 'dtype'> {
  /** Layer names that may own the tensor, most specific first; the last one is used when none is known. */
  readonly owners: readonly string[];
  readonly read: () => Promise<TensorData>;
  /** Reads whole rows of the first axis (Weight.readRows), where the file can. */
  readonly readRows?: (start: number, count: number) => Promise<TensorData>;
}

/** A layer as the weights file lists it (a `layer_names` entry, a `.weights.h5` group). */
export interface StoredLayer {
  readonly name: string;
  readonly weights: readonly StoredWeight[];
}

/** Keras 1 weight suffixes (`convolution2d_1_W:0`) and the roles they stand for. */
const KERAS1_ROLES: Record<string, string> = {
  W: 'kernel',
  b: 'bias',
  U: 'recurrent_kernel',
  running_mean: 'moving_mean',
  running_std: 'moving_variance',
};

/**
 * The role of a weight from its stored name: the last path component without `:0`; Keras 1 names
 * (`<layer>_W`, `<layer>_running_std`) are mapped to Keras 2 roles.
 */
export function kerasRole(storedName: string, layerName: string): string {
  const last = (storedName.split('/').pop() ?? storedName).replace(/:\d+$/, '');
  const suffix = last.startsWith(`${layerName}_`) ? last.slice(layerName.length + 1) : last;
  return KERAS1_ROLES[suffix] ?? suffix;
}

/** Candidate owners of a weight named `a/b/kernel:0` in group `g`: b, a, then g. */
export function ownersFromPath(storedName: string, groupName: string): string[] {
  const parts = storedName.split('/').slice(0, -1).reverse();
  return [...parts, groupName];
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function makeWeight(source: string, layer: string, stored: StoredWeight, axes: readonly AxisName[]): Weight {
  return {
    name: stored.name,
    role: stored.role,
    shape: stored.shape,
    axes,
    dtype: stored.dtype,
    layer,
    async read() {
      const data = await stored.read();
      if (data.length !== product(stored.shape)) {
        throw new ModelFormatError(
          `${source}: weight '${stored.name}' of layer '${layer}' should hold ${product(stored.shape)} values for shape (${stored.shape.join(', ')}), but it holds ${data.length}.`,
        );
      }
      return new NamedTensor(axes, stored.shape, data);
    },
    ...(stored.readRows && stored.shape.length > 0 ? { readRows: rowReader({ source, name: stored.name, shape: stored.shape, axes }, stored.readRows) } : {}),
  };
}

function axesFor(spec: KerasLayerSpec | undefined, stored: StoredWeight): readonly AxisName[] {
  if (!spec) return genericAxes(stored.shape.length);
  const channelsFirstKernel = spec.config.dim_ordering === 'th';
  return kerasAxes(spec.className, stored.role, stored.shape.length, channelsFirstKernel);
}

/**
 * Attaches stored weights to the architecture's leaf layers (in architecture order); weights whose
 * owner the architecture does not know become extra layers of class 'unknown'. Without an
 * architecture, the stored layers are the layers and axes are unnamed.
 */
export function buildKerasLayers(source: string, stored: readonly StoredLayer[], arch: KerasArchitecture | undefined): Layer[] {
  const specs = new Map((arch?.layers ?? []).map((l) => [l.name, l]));
  const byOwner = new Map<string, StoredWeight[]>();
  const order: string[] = [];
  for (const layer of stored) {
    if (!order.includes(layer.name)) order.push(layer.name);
    for (const w of layer.weights) {
      const owner = w.owners.find((o) => specs.has(o)) ?? w.owners[w.owners.length - 1] ?? layer.name;
      if (!order.includes(owner)) order.push(owner);
      const list = byOwner.get(owner) ?? [];
      list.push(w);
      byOwner.set(owner, list);
    }
  }
  const layers: Layer[] = [];
  for (const spec of arch?.layers ?? []) {
    const weights = (byOwner.get(spec.name) ?? []).map((w) => makeWeight(source, spec.name, w, axesFor(spec, w)));
    layers.push({
      name: spec.name,
      className: spec.className,
      kind: kerasLayerKind(spec.className),
      config: spec.config,
      inbound: spec.inbound,
      weights,
      ...(spec.trainable !== undefined ? { trainable: spec.trainable } : {}),
      ...(spec.parents.length > 0 ? { parents: spec.parents } : {}),
    });
  }
  for (const name of order) {
    if (specs.has(name)) continue;
    const weights = byOwner.get(name) ?? [];
    if (arch && weights.length === 0) continue;
    layers.push({
      name,
      className: 'unknown',
      kind: 'other',
      config: {},
      inbound: [],
      weights: weights.map((w) => makeWeight(source, name, w, arch ? genericAxes(w.shape.length) : assumedKerasAxes(w.role, w.shape.length))),
    });
  }
  return layers;
}

/**
 * Axes of a weight whose layer class is unknown (a weights-only file read without --config), assuming
 * the Keras layout its role and rank imply: a 3-D to 5-D `kernel` is a convolution kernel
 * [..spatial, in, out], a 2-D one a Dense kernel [in, units], a `depthwise_kernel` [..spatial, in, mult].
 * The one layout this gets wrong, a ConvTranspose kernel ([..spatial, out, in]), is named in the note.
 */
export function assumedKerasAxes(role: string, rank: number): AxisName[] {
  if (rank === 1 && ['bias', 'gamma', 'beta', 'moving_mean', 'moving_variance'].includes(role)) return ['features'];
  if (rank >= 3 && rank <= 5) {
    if (role === 'depthwise_kernel') return [...spatialAxes(rank - 2), 'in', 'mult'];
    if (role === 'kernel' || role === 'pointwise_kernel') return [...spatialAxes(rank - 2), 'in', 'out'];
  }
  if (rank === 2 && role === 'kernel') return ['in', 'units'];
  return genericAxes(rank);
}

/**
 * The note shown when weights are read without an architecture, saying which layout was assumed.
 * `tensorflow`: TF1 variables, named by the user, whose 2-D to 5-D float tensors were taken as kernels.
 */
export function assumedLayoutNote(framework: 'keras' | 'tensorflow' = 'keras', kernelsGuessed = false): Note {
  const layout =
    "kernels are shown in the Keras layout their rank implies: convolution [kh, kw, in, out] (1-D [kw, in, out], 3-D [kd, kh, kw, in, out]), Dense [in, units], depthwise [kh, kw, in, mult]; a Conv2DTranspose kernel is really [kh, kw, out, in]";
  if (framework === 'tensorflow') {
    return { text: `These TensorFlow variables carry no layer classes, so ${layout}${kernelsGuessed ? ', and float variables of rank 2 to 5 whose names give no role are taken as kernels (tf.nn.conv2d filters and tf.matmul weights use exactly these layouts)' : ''}.` };
  }
  return {
    text: `This file holds weights only, so layer classes are unknown and ${layout}. Give its architecture JSON (model.to_json()) for exact classes and axes.`,
    concept: 'architecture',
  };
}
