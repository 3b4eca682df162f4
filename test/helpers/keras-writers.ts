/**
 * Writes small Keras-layout files of the project's own (so the format tests mean something on a fresh
 * machine without ../shared/fixtures): HDF5 through h5wasm, zips through fflate, TF.js shards by hand.
 * Every tensor's values are returned so tests can check an exact round trip.
 */
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { zipSync } from 'fflate';

type H5 = typeof import('h5wasm');
let h5: Promise<H5> | undefined;

async function h5wasm(): Promise<H5> {
  h5 ??= (async () => {
    const mod = (await import('h5wasm/node')) as H5;
    await mod.ready;
    return mod;
  })();
  return h5;
}

/** Deterministic float32 values (a fixed LCG), distinct per seed. */
export function values(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

export interface TensorSpec {
  /** Layer name. */
  layer: string;
  role: string;
  shape: number[];
  data: Float32Array;
}

function tensor(layer: string, role: string, shape: number[], seed: number): TensorSpec {
  return { layer, role, shape, data: values(shape.reduce((a, b) => a * b, 1), seed) };
}

/** A layer of a chain: its Keras class and config, and its weights as [role, shape]. */
export interface ChainLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  weights: [string, number[]][];
}

/**
 * Writes a Keras 2 Functional model as `model.save('x.h5')` does, whose layers form a chain (each fed by
 * the one before, the first is the input, the last the output). `fill(count)` gives each weight's
 * values, called once per weight in file order.
 */
export async function writeKerasChainH5(path: string, modelName: string, layers: readonly ChainLayer[], fill: (count: number) => Float32Array): Promise<void> {
  const h5 = await h5wasm();
  const config = {
    class_name: 'Functional',
    config: {
      name: modelName,
      layers: layers.map((l, i) => ({
        name: l.name,
        class_name: l.className,
        config: { name: l.name, trainable: true, ...l.config },
        inbound_nodes: i === 0 ? [] : [[[layers[i - 1]!.name, 0, 0, {}]]],
      })),
      input_layers: [[layers[0]!.name, 0, 0]],
      output_layers: [[layers.at(-1)!.name, 0, 0]],
    },
  };
  const f = new h5.File(path, 'w');
  f.create_attribute('keras_version', '2.4.0');
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('model_config', JSON.stringify(config));
  const weights = f.create_group('model_weights');
  weights.create_attribute('layer_names', layers.map((l) => l.name), [layers.length], null);
  for (const l of layers) {
    const g = weights.create_group(l.name);
    const names = l.weights.map(([role]) => `${l.name}/${role}:0`);
    if (names.length === 0) {
      g.create_attribute('weight_names', new Float64Array(0), [0], '<f8');
      continue;
    }
    g.create_attribute('weight_names', names, [names.length], null);
    const inner = g.create_group(l.name);
    for (const [role, shape] of l.weights) inner.create_dataset({ name: `${role}:0`, data: fill(shape.reduce((a, b) => a * b, 1)), shape, dtype: '<f4' });
  }
  f.close();
}

/** A Keras 2 Functional model: InputLayer -> Conv2D -> BN -> DepthwiseConv2D -> Conv2DTranspose -> Flatten -> Dense. */
export function keras2Functional(): { config: object; tensors: TensorSpec[]; layerNames: string[] } {
  const layer = (name: string, className: string, config: object, inbound: string[]) => ({
    name,
    class_name: className,
    config: { name, trainable: name !== 'bn_a', dtype: 'float32', ...config },
    inbound_nodes: inbound.length ? [inbound.map((i) => [i, 0, 0, {}])] : [],
  });
  const layers = [
    layer('img', 'InputLayer', { batch_input_shape: [null, 8, 8, 2] }, []),
    layer('conv_a', 'Conv2D', { filters: 4, kernel_size: [3, 3], data_format: 'channels_last', use_bias: true }, ['img']),
    layer('bn_a', 'BatchNormalization', { axis: -1, center: true, scale: true }, ['conv_a']),
    layer('dw', 'DepthwiseConv2D', { kernel_size: [3, 3], depth_multiplier: 2, use_bias: false }, ['bn_a']),
    layer('up', 'Conv2DTranspose', { filters: 3, kernel_size: [2, 2], use_bias: true }, ['dw']),
    layer('flat', 'Flatten', {}, ['up']),
    layer('fc', 'Dense', { units: 5, use_bias: true }, ['flat']),
  ];
  const config = {
    class_name: 'Functional',
    config: { name: 'gen_model', layers, input_layers: [['img', 0, 0]], output_layers: [['fc', 0, 0]] },
  };
  const tensors = [
    tensor('conv_a', 'kernel', [3, 3, 2, 4], 1),
    tensor('conv_a', 'bias', [4], 2),
    tensor('bn_a', 'gamma', [4], 3),
    tensor('bn_a', 'beta', [4], 4),
    tensor('bn_a', 'moving_mean', [4], 5),
    tensor('bn_a', 'moving_variance', [4], 6),
    tensor('dw', 'depthwise_kernel', [3, 3, 4, 2], 7),
    tensor('up', 'kernel', [2, 2, 3, 8], 8),
    tensor('up', 'bias', [3], 9),
    tensor('fc', 'kernel', [12, 5], 10),
    tensor('fc', 'bias', [5], 11),
  ];
  return { config, tensors, layerNames: layers.map((l) => l.name) };
}

function weightNamesOf(tensors: TensorSpec[], layer: string, suffix: string): string[] {
  return tensors.filter((t) => t.layer === layer).map((t) => `${layer}/${t.role}${suffix}`);
}

async function writeKeras2Groups(
  f: import('h5wasm').Group,
  tensors: TensorSpec[],
  layerNames: string[],
  stringType: string | null,
): Promise<void> {
  for (const name of layerNames) {
    const g = f.create_group(name);
    const names = weightNamesOf(tensors, name, ':0');
    if (names.length === 0) g.create_attribute('weight_names', new Float64Array(0), [0], '<f8');
    else g.create_attribute('weight_names', names, [names.length], stringType);
    const inner = names.length ? g.create_group(name) : undefined;
    for (const t of tensors.filter((x) => x.layer === name)) {
      inner!.create_dataset({ name: `${t.role}:0`, data: t.data, shape: t.shape, dtype: '<f4' });
    }
  }
}

/** `model.save('x.h5')` of keras2Functional(), as tf.keras 2.4 writes it. */
export async function writeKeras2FullH5(dir: string): Promise<{ path: string; tensors: TensorSpec[] }> {
  const { File } = await h5wasm();
  const model = keras2Functional();
  const path = join(dir, 'keras2-full.h5');
  const f = new File(path, 'w');
  f.create_attribute('keras_version', '2.4.0');
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('model_config', JSON.stringify(model.config));
  const mw = f.create_group('model_weights');
  mw.create_attribute('layer_names', model.layerNames, [model.layerNames.length], null);
  await writeKeras2Groups(mw, model.tensors, model.layerNames, null);
  f.close();
  return { path, tensors: model.tensors };
}

/**
 * `model.save_weights('x.h5')` (Keras 2): layer groups at the root, fixed-length name strings as older
 * h5py writes them, and `layer_names` split into layer_names0 / layer_names1 as Keras does for lists
 * over HDF5's 64 KiB attribute limit. The architecture goes to arch.json in the Keras 2.0 form
 * (a Sequential whose config is the list of layers).
 */
export async function writeKeras2WeightsH5(dir: string): Promise<{ path: string; configPath: string; tensors: TensorSpec[] }> {
  const { File } = await h5wasm();
  const model = keras2Functional();
  const sequential = model.layerNames.filter((n) => n !== 'img');
  const listConfig = {
    class_name: 'Sequential',
    keras_version: '2.0.8',
    config: (model.config as { config: { layers: { class_name: string; config: object }[] } }).config.layers
      .filter((l) => l.class_name !== 'InputLayer')
      .map((l) => ({ class_name: l.class_name, config: l.config })),
  };
  const configPath = join(dir, 'arch.json');
  writeFileSync(configPath, JSON.stringify(listConfig));
  const path = join(dir, 'keras2-weights.h5');
  const f = new File(path, 'w');
  f.create_attribute('keras_version', '2.0.8');
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('layer_names0', sequential.slice(0, 3), [3], 'A16');
  f.create_attribute('layer_names1', sequential.slice(3), [sequential.length - 3], 'A16');
  await writeKeras2Groups(f, model.tensors, sequential, 'A32');
  f.close();
  return { path, configPath, tensors: model.tensors };
}

/**
 * Weights of a 40-layer Dense stack in HDF5's newer forms, as h5py writes them with libver='v108' and
 * track_order: the root's 40 groups and 27 attributes are in dense storage (fractal heaps, v2 B-trees
 * with creation order), and every other kernel is chunked with gzip.
 */
export async function writeDenseWeightsH5(dir: string): Promise<{ path: string }> {
  const { File } = await h5wasm();
  const path = join(dir, 'dense-weights.h5');
  const f = new File(path, 'w', { libver: 'v108', track_order: true });
  const names = Array.from({ length: 40 }, (_, i) => `dense_${i}`);
  f.create_attribute('layer_names', names, [names.length], null);
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('keras_version', '2.13.1');
  for (let i = 0; i < 24; i++) f.create_attribute(`note_${i}`, `value ${i}`);
  names.forEach((name, i) => {
    const g = f.create_group(name, true);
    g.create_attribute('weight_names', [`${name}/kernel:0`, `${name}/bias:0`], [2], null);
    const inner = g.create_group(name);
    inner.create_dataset({ name: 'kernel:0', data: values(24, i), shape: [4, 6], dtype: '<f4', ...(i % 2 ? { chunks: [2, 6], compression: 'gzip' as const } : {}) });
    inner.create_dataset({ name: 'bias:0', data: values(6, 100 + i), shape: [6], dtype: '<f4' });
  });
  f.close();
  return { path };
}

/** A Keras 3 Sequential with a nested Functional, as config.json stores it. */
export function keras3Sequential(): object {
  const dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
  const layer = (className: string, config: object, extra: object = {}) => ({
    module: 'keras.layers',
    class_name: className,
    config: { trainable: true, dtype, ...config },
    registered_name: null,
    ...extra,
  });
  const ref = (name: string) => ({ class_name: '__keras_tensor__', config: { shape: [null, 4], dtype: 'float32', keras_history: [name, 0, 0] } });
  const inner = {
    module: 'keras.src.models.functional',
    class_name: 'Functional',
    config: {
      name: 'inner',
      trainable: true,
      layers: [
        { ...layer('InputLayer', { batch_shape: [null, 4, 4, 4], name: 'inner_in' }), name: 'inner_in', inbound_nodes: [] },
        { ...layer('Conv2D', { name: 'inner_conv', filters: 6, kernel_size: [1, 1], use_bias: false }), name: 'inner_conv', inbound_nodes: [{ args: [ref('inner_in')], kwargs: {} }] },
        { ...layer('GlobalAveragePooling2D', { name: 'inner_pool' }), name: 'inner_pool', inbound_nodes: [{ args: [ref('inner_conv')], kwargs: {} }] },
        { ...layer('Dense', { name: 'inner_fc', units: 3 }), name: 'inner_fc', inbound_nodes: [{ args: [ref('inner_pool')], kwargs: {} }] },
      ],
      input_layers: [['inner_in', 0, 0]],
      output_layers: [['inner_fc', 0, 0]],
    },
    registered_name: 'Functional',
  };
  return {
    module: 'keras',
    class_name: 'Sequential',
    config: {
      name: 'outer',
      trainable: true,
      dtype,
      layers: [
        layer('InputLayer', { batch_shape: [null, 6, 6, 2], name: 'input_layer' }),
        layer('Conv2D', { name: 'conv_a', filters: 4, kernel_size: [3, 3], use_bias: true }),
        layer('BatchNormalization', { name: 'bn', scale: false, center: true }),
        inner,
        layer('Dense', { name: 'head', units: 2, use_bias: true }),
      ],
    },
  };
}

export function keras3Tensors(): TensorSpec[] {
  return [
    tensor('conv_a', 'kernel', [3, 3, 2, 4], 21),
    tensor('conv_a', 'bias', [4], 22),
    tensor('bn', 'beta', [4], 23),
    tensor('bn', 'moving_mean', [4], 24),
    tensor('bn', 'moving_variance', [4], 25),
    tensor('inner_conv', 'kernel', [1, 1, 4, 6], 26),
    tensor('inner_fc', 'kernel', [6, 3], 27),
    tensor('inner_fc', 'bias', [3], 28),
    tensor('head', 'kernel', [3, 2], 29),
    tensor('head', 'bias', [2], 30),
  ];
}

/**
 * A Keras 3 `.weights.h5`: groups named after classes. conv_a and head carry the `vars` name attribute
 * (recent Keras 3); bn and the nested model's layers do not, so they must be matched by class and position.
 */
export async function writeKeras3WeightsH5(dir: string): Promise<{ path: string; tensors: TensorSpec[] }> {
  const { File } = await h5wasm();
  const tensors = keras3Tensors();
  const path = join(dir, 'model.weights.h5');
  const f = new File(path, 'w');
  const groups: [string, string, string | null][] = [
    ['layers/conv2d', 'conv_a', 'conv_a'],
    ['layers/batch_normalization', 'bn', null],
    ['layers/functional/layers/conv2d', 'inner_conv', null],
    ['layers/functional/layers/dense', 'inner_fc', null],
    ['layers/dense', 'head', 'head'],
  ];
  f.create_group('layers');
  f.create_group('layers/functional');
  f.create_group('layers/functional/layers');
  f.create_group('layers/functional/vars');
  f.create_group('layers/global_average_pooling2d');
  for (const [group, layer, nameAttr] of groups) {
    f.create_group(group);
    const vars = f.create_group(`${group}/vars`);
    if (nameAttr) vars.create_attribute('name', nameAttr);
    tensors
      .filter((t) => t.layer === layer)
      .forEach((t, i) => vars.create_dataset({ name: String(i), data: t.data, shape: t.shape, dtype: '<f4' }));
  }
  f.create_group('vars');
  f.close();
  return { path, tensors };
}

/** A `.keras` zip around writeKeras3WeightsH5(); `level` 0 stores the weights, 6 deflates them. */
export async function writeKerasZip(dir: string, level: 0 | 6): Promise<{ path: string; tensors: TensorSpec[] }> {
  const sub = join(dir, `keras-zip-${level}`);
  mkdirSync(sub, { recursive: true });
  const weights = await writeKeras3WeightsH5(sub);
  const enc = new TextEncoder();
  const zip = zipSync(
    {
      'metadata.json': enc.encode(JSON.stringify({ keras_version: '3.4.1', date_saved: '2024-07-01@12:00:00' })),
      'config.json': enc.encode(JSON.stringify(keras3Sequential())),
      'model.weights.h5': [readFileSync(weights.path), { level }],
    },
    { level: 0 },
  );
  const path = join(dir, `model-${level}.keras`);
  writeFileSync(path, zip);
  return { path, tensors: weights.tensors };
}

/** Encodes a float exactly representable in IEEE half precision (normal or zero). */
export function toHalf(v: number): number {
  if (v === 0) return 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const mantissa = Math.round((a / 2 ** e - 1) * 1024);
  return sign | ((e + 15) << 10) | mantissa;
}

export interface TfjsFixture {
  path: string;
  /** Exact float32 values, and for quantized weights the tolerance the quantization allows. */
  tensors: (TensorSpec & { tolerance: number; storedDtype: string })[];
}

/**
 * A TF.js layers model.json (no `format` key, as tfjs-layers 1.x wrote it) with two groups: float32
 * weights concatenated over two shards (one weight spans the boundary) and quantized weights
 * (uint8, uint16, float16) in a third shard.
 */
export function writeTfjsModel(dir: string): TfjsFixture {
  const topology = {
    class_name: 'Sequential',
    config: {
      name: 'seq',
      layers: [
        { class_name: 'Conv2D', config: { name: 'conv', filters: 4, kernel_size: [3, 3], batch_input_shape: [null, 8, 8, 2], use_bias: true } },
        { class_name: 'BatchNormalization', config: { name: 'bn', axis: -1 } },
        { class_name: 'Flatten', config: { name: 'flat' } },
        { class_name: 'Dense', config: { name: 'fc', units: 3 } },
      ],
    },
    keras_version: 'tfjs-layers 1.3.1',
    backend: 'tensor_flow.js',
  };
  const conv = tensor('conv', 'kernel', [3, 3, 2, 4], 41);
  const bias = tensor('conv', 'bias', [4], 42);
  const fc = tensor('fc', 'kernel', [36, 3], 43);
  const fcBias = tensor('fc', 'bias', [3], 44);
  const gamma: TensorSpec = { layer: 'bn', role: 'gamma', shape: [4], data: Float32Array.from([0.5, -1.25, 2, 0.015625]) };
  const beta = tensor('bn', 'beta', [4], 45);
  const float = new Uint8Array(new Float32Array([...conv.data, ...bias.data, ...beta.data]).buffer);
  const cut = 100;
  writeFileSync(join(dir, 'group1-shard1of2.bin'), float.subarray(0, cut));
  writeFileSync(join(dir, 'group1-shard2of2.bin'), float.subarray(cut));

  const quant = (t: TensorSpec, bits: 8 | 16) => {
    const min = Math.min(...t.data);
    const max = Math.max(...t.data);
    const scale = (max - min) / (2 ** bits - 1);
    const q = Array.from(t.data, (v) => Math.round((v - min) / scale));
    return { bytes: new Uint8Array((bits === 8 ? Uint8Array.from(q) : Uint16Array.from(q)).buffer), scale, min };
  };
  const q8 = quant(fc, 8);
  const q16 = quant(fcBias, 16);
  const half = new Uint8Array(Uint16Array.from(gamma.data, toHalf).buffer);
  writeFileSync(join(dir, 'group2-shard1of1.bin'), Buffer.concat([q8.bytes, q16.bytes, half]));

  const manifest = [
    {
      paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'],
      weights: [
        { name: 'conv/kernel', shape: conv.shape, dtype: 'float32' },
        { name: 'conv/bias', shape: bias.shape, dtype: 'float32' },
        { name: 'bn/beta', shape: beta.shape, dtype: 'float32' },
      ],
    },
    {
      paths: ['group2-shard1of1.bin'],
      weights: [
        { name: 'fc/kernel', shape: fc.shape, dtype: 'float32', quantization: { dtype: 'uint8', scale: q8.scale, min: q8.min, original_dtype: 'float32' } },
        { name: 'fc/bias', shape: fcBias.shape, dtype: 'float32', quantization: { dtype: 'uint16', scale: q16.scale, min: q16.min, original_dtype: 'float32' } },
        { name: 'bn/gamma', shape: gamma.shape, dtype: 'float32', quantization: { dtype: 'float16', original_dtype: 'float32' } },
      ],
    },
  ];
  const path = join(dir, 'model.json');
  writeFileSync(path, JSON.stringify({ modelTopology: topology, weightsManifest: manifest }));
  const exact = (t: TensorSpec) => ({ ...t, tolerance: 0, storedDtype: 'float32' });
  return {
    path,
    tensors: [
      exact(conv),
      exact(bias),
      exact(beta),
      { ...fc, tolerance: q8.scale / 2 + 1e-6, storedDtype: 'uint8' },
      { ...fcBias, tolerance: q16.scale / 2 + 1e-6, storedDtype: 'uint16' },
      { ...gamma, tolerance: 0, storedDtype: 'float16' },
    ],
  };
}

/**
 * A Keras 1.2 `model.save()` with dim_ordering 'th': Convolution2D kernels stored [out, in, kh, kw],
 * weights named `<layer>_W:0` directly under the layer group, BatchNormalization with running_std.
 */
export async function writeKeras1ThH5(dir: string): Promise<{ path: string; tensors: TensorSpec[] }> {
  const { File } = await h5wasm();
  const tensors: (TensorSpec & { stored: string })[] = [
    { ...tensor('convolution2d_1', 'kernel', [4, 2, 3, 3], 51), stored: 'convolution2d_1_W:0' },
    { ...tensor('convolution2d_1', 'bias', [4], 52), stored: 'convolution2d_1_b:0' },
    { ...tensor('batchnormalization_1', 'gamma', [4], 53), stored: 'batchnormalization_1_gamma:0' },
    { ...tensor('batchnormalization_1', 'beta', [4], 54), stored: 'batchnormalization_1_beta:0' },
    { ...tensor('batchnormalization_1', 'moving_mean', [4], 55), stored: 'batchnormalization_1_running_mean:0' },
    { ...tensor('batchnormalization_1', 'moving_variance', [4], 56), stored: 'batchnormalization_1_running_std:0' },
  ];
  const config = {
    class_name: 'Sequential',
    config: [
      { class_name: 'Convolution2D', config: { name: 'convolution2d_1', nb_filter: 4, nb_row: 3, nb_col: 3, dim_ordering: 'th', batch_input_shape: [null, 2, 8, 8], trainable: true } },
      { class_name: 'BatchNormalization', config: { name: 'batchnormalization_1', axis: 1, mode: 0, trainable: true } },
    ],
  };
  const path = join(dir, 'keras1-th.h5');
  const f = new File(path, 'w');
  f.create_attribute('keras_version', '1.2.2');
  f.create_attribute('model_config', JSON.stringify(config));
  const mw = f.create_group('model_weights');
  const layers = ['convolution2d_1', 'batchnormalization_1'];
  mw.create_attribute('layer_names', layers, [layers.length], 'A24');
  for (const layer of layers) {
    const g = mw.create_group(layer);
    const own = tensors.filter((t) => t.layer === layer);
    g.create_attribute('weight_names', own.map((t) => t.stored), [own.length], 'A40');
    for (const t of own) g.create_dataset({ name: t.stored, data: t.data, shape: t.shape, dtype: '<f4' });
  }
  f.close();
  return { path, tensors };
}
