import { UnsupportedError } from '../model/errors.js';
import { parseLambda } from '../model/expression.js';
import { canonicalClass, catalogueEntry, refusal } from '../model/keras-catalogue.js';
import type { LayerGraph, LeafLayer } from '../model/graph.js';

/**
 * Converts one stored layer config (Keras 1, Keras 2 / tf.keras, Keras 3, TF.js) into the Keras 2
 * JSON form tfjs-layers deserializes, and the flattened graph into one Keras 2 functional topology.
 *
 * For inference, weights always come from the file afterwards, so every initializer becomes Zeros (no
 * random numbers are drawn for 138 M VGG parameters), regularizers / constraints (training-only, and
 * possibly custom classes) are dropped and dropout-like layers are identities. For training
 * (`{ training: true }`), the layer is kept as stored: its initializers, regularizers, constraints
 * and dropout.
 */

type Json = Record<string, unknown>;

export interface TfjsLayerJson {
  class_name: string;
  config: Json;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keras 3 objects `{ module, class_name, config, registered_name }` -> `{ class_name, config }`; DTypePolicy -> its name. */
function stripKeras3(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripKeras3);
  if (!isObject(value)) return value;
  if (typeof value.class_name === 'string' && /DTypePolicy$/.test(value.class_name) && isObject(value.config)) {
    return computeDtype(value.config.name);
  }
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'module' || k === 'registered_name' || k === 'build_config' || k === 'shared_object_id') continue;
    out[k] = k === 'dtype' ? computeDtype(stripKeras3(v)) : stripKeras3(v);
  }
  return out;
}

/** Mixed-precision policies compute in float32 here. */
function computeDtype(dtype: unknown): unknown {
  if (typeof dtype !== 'string') return dtype;
  return dtype.startsWith('mixed_') || dtype === 'float16' || dtype === 'bfloat16' || dtype === 'float64' ? 'float32' : dtype;
}

const DIM_ORDERING: Record<string, string> = { tf: 'channels_last', th: 'channels_first', default: 'channels_last' };
const BORDER_MODE: Record<string, string> = { valid: 'valid', same: 'same', full: 'full' };

const MERGE_MODES: Record<string, string> = {
  sum: 'Add',
  mul: 'Multiply',
  concat: 'Concatenate',
  ave: 'Average',
  max: 'Maximum',
};

function move(config: Json, from: string, to: string, map: (v: unknown) => unknown = (v) => v): void {
  if (from in config) {
    if (!(to in config)) config[to] = map(config[from]);
    delete config[from];
  }
}

/** Keras 1 argument names -> Keras 2 (the Keras 2 legacy interfaces did the same renames). */
function keras1ToKeras2(layer: LeafLayer, className: string, config: Json): string {
  const renamed = canonicalClass(className);
  if (className === 'Merge') {
    const mode = String(config.mode ?? 'sum');
    const target = MERGE_MODES[mode];
    if (!target) throw new UnsupportedError(`Layer '${layer.name}' is a Keras 1 Merge with mode '${mode}', which convscope cannot run.`);
    move(config, 'concat_axis', 'axis');
    delete config.mode;
    return target;
  }
  move(config, 'dim_ordering', 'data_format', (v) => DIM_ORDERING[String(v)] ?? v);
  move(config, 'border_mode', 'padding', (v) => BORDER_MODE[String(v)] ?? v);
  move(config, 'nb_filter', 'filters');
  move(config, 'output_dim', 'units');
  move(config, 'bias', 'use_bias');
  move(config, 'p', 'rate');
  move(config, 'input_dtype', 'dtype');
  move(config, 'atrous_rate', 'dilation_rate');
  if ('nb_row' in config) {
    config.kernel_size = [config.nb_row, config.nb_col];
    delete config.nb_row;
    delete config.nb_col;
  }
  if ('filter_length' in config) move(config, 'filter_length', 'kernel_size');
  move(config, 'subsample_length', 'strides');
  move(config, 'subsample', 'strides');
  if (renamed.endsWith('Pooling1D')) {
    move(config, 'pool_length', 'pool_size');
    move(config, 'stride', 'strides');
  }
  if (className === 'BatchNormalization' && config.mode !== undefined && config.mode !== 0) {
    throw new UnsupportedError(`Layer '${layer.name}' is a Keras 1 BatchNormalization in mode ${String(config.mode)}; only mode 0 can be run.`);
  }
  delete config.mode;
  if (className === 'ZeroPadding2D' && isObject(config.padding)) {
    const p = config.padding as Record<string, number>;
    config.padding = [[p.top_pad ?? 0, p.bottom_pad ?? 0], [p.left_pad ?? 0, p.right_pad ?? 0]];
  }
  if (className === 'ZeroPadding2D' && Array.isArray(config.padding) && config.padding.length === 4) {
    const [t, b, l, r] = config.padding as number[];
    config.padding = [[t, b], [l, r]];
  }
  return renamed;
}

const TRAINING_ONLY = /(_regularizer|_constraint)$/;

/** The initializers of the weights Keras layers store (a layer class ignores the ones it has no weight for). */
const WEIGHT_INITIALIZERS = ['kernel_initializer', 'bias_initializer', 'depthwise_initializer', 'pointwise_initializer', 'gamma_initializer', 'beta_initializer', 'moving_mean_initializer', 'moving_variance_initializer', 'embeddings_initializer', 'alpha_initializer'];

/**
 * The Keras 2 `{ class_name, config }` tfjs-layers deserializes for this leaf layer, after the
 * Keras catalogue (model/keras-catalogue.ts) has accepted its class and every option. A Lambda
 * layer the user stated (`lambdas`) becomes `{ class_name: 'Lambda', config: { expression } }`.
 */
export function toTfjsLayer(
  layer: LeafLayer,
  knownClass: (name: string) => boolean,
  where: string,
  lambdas: Readonly<Record<string, string>> = {},
  options: { training?: boolean } = {},
): TfjsLayerJson {
  const config = stripKeras3(structuredClone(layer.config)) as Json;
  const className = keras1ToKeras2(layer, layer.className, config);
  const stated = Object.hasOwn(lambdas, layer.name) ? lambdas[layer.name] : undefined;
  if (stated !== undefined && catalogueEntry(className)?.statable) {
    parseLambda(layer.name, stated);
    return { class_name: 'Lambda', config: { name: layer.name, expression: stated, trainable: false } };
  }
  const refused = refusal(layer.name, className, config, 'tfjs');
  if (refused) throw new UnsupportedError(`${where}: ${refused}.`, catalogueEntry(className)?.statable ? { concept: 'lambda' } : {});
  const training = options.training === true;
  if (catalogueEntry(className)?.status === 'identity' && !(training && knownClass(className))) {
    return { class_name: 'Activation', config: { name: layer.name, activation: 'linear', trainable: false } };
  }
  if (!knownClass(className)) {
    throw new UnsupportedError(`${where}: layer '${layer.name}' is a '${layer.className}' layer, a class TensorFlow.js does not provide, so convscope cannot run this network; its weights can still be inspected.`);
  }
  if (!training) {
    for (const key of Object.keys(config)) {
      if (key.endsWith('_initializer')) config[key] = { class_name: 'Zeros', config: {} };
      else if (TRAINING_ONLY.test(key) || key === 'activity_regularizer') delete config[key];
    }
    // A config that leaves an initializer out gets tfjs' default (Glorot: random numbers drawn for every parameter).
    for (const key of WEIGHT_INITIALIZERS) if (!(key in config)) config[key] = { class_name: 'Zeros', config: {} };
  }
  spatialTuples(className, config);
  if (className.startsWith('SeparableConv')) delete config.kernel_initializer;
  if (className === 'LeakyReLU') move(config, 'negative_slope', 'alpha');
  delete config.batch_size;
  if ('batch_shape' in config) move(config, 'batch_shape', 'batch_input_shape');
  config.name = layer.name;
  return { class_name: className, config };
}

const TUPLE_ARGS = ['size', 'pool_size', 'strides', 'kernel_size', 'dilation_rate'];

/** Keras accepts `size=2` for (2, 2); some tfjs-layers classes only take the tuple. */
function spatialTuples(className: string, config: Json): void {
  const rank = Number(/([123])D/.exec(className)?.[1] ?? 0);
  if (rank < 2) return;
  for (const key of TUPLE_ARGS) {
    if (typeof config[key] === 'number') config[key] = Array.from({ length: rank }, () => config[key]);
  }
}

/** tfjs-layers' names for Keras activations it spells differently. */
const TFJS_ACTIVATIONS: Readonly<Record<string, string>> = { silu: 'swish', log_softmax: 'logSoftmax' };

/** The config with Keras activation names as tfjs-layers spells them (the last step before tfjs deserializes it). */
export function tfjsActivationNames(config: Readonly<Json>): Json {
  const name = typeof config.activation === 'string' ? TFJS_ACTIVATIONS[config.activation] : undefined;
  return name ? { ...config, activation: name } : { ...config };
}

/**
 * One Keras 2 functional topology holding every leaf layer of the flattened graph, node indices
 * being each layer's call numbers.
 */
export function toTfjsTopology(
  graph: LayerGraph,
  layers: ReadonlyMap<string, TfjsLayerJson>,
): Json {
  const inbound = new Map<string, unknown[]>();
  for (const node of graph.nodes) {
    if (node.layer.className === 'InputLayer') continue;
    const call = node.inputs.map((ref) => {
      const src = graph.nodes[ref.node]!;
      return [src.layer.name, src.call, ref.output, {}];
    });
    const list = inbound.get(node.layer.name) ?? [];
    list.push(call);
    inbound.set(node.layer.name, list);
  }
  const ref = (r: { node: number; output: number }): [string, number, number] => {
    const n = graph.nodes[r.node]!;
    return [n.layer.name, n.call, r.output];
  };
  return {
    class_name: 'Model',
    config: {
      name: graph.name,
      layers: graph.layers.map((l) => ({
        ...layers.get(l.name)!,
        name: l.name,
        inbound_nodes: inbound.get(l.name) ?? [],
      })),
      input_layers: graph.inputs.map((id) => ref({ node: id, output: 0 })),
      output_layers: graph.outputs.map(ref),
    },
  };
}
