import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runLayers, type Activation } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { kerasOnOrt, runLayersOrt } from '../../src/compute/keras-ort.js';
import { UnsupportedError } from '../../src/model/errors.js';
import { ACTIVATIONS, catalogueEntry, KERAS_CATALOGUE, ruleAccepts, type Engine, type LayerEntry } from '../../src/model/keras-catalogue.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';
import { memoryModel } from './memory-model.js';

/**
 * Every catalogue entry that runs is checked against a PyTorch (float64) re-computation of Keras'
 * documented semantics (test/helpers/keras_oracle.py), on random weights and inputs, in both data
 * formats where the layer has them, on TensorFlow.js and, where the catalogue says so, on ONNX
 * Runtime: max |convscope - oracle| <= 1e-5 * max |oracle| per case and engine. Every
 * option value the catalogue says runs is exercised by some case (the coverage test fails
 * otherwise); identity layers return their input exactly; refused classes are refused by name.
 */

type Json = Record<string, unknown>;

interface Case {
  id: string;
  className: string;
  config: Json;
  /** Input shapes with the batch axis. */
  inputs: number[][];
  /** Weight roles and Keras-layout shapes, in any order. */
  weights: [string, number[]][];
}

const cases: Case[] = [];
function add(className: string, config: Json, inputs: number[][], weights: [string, number[]][] = []): void {
  cases.push({ id: `${className} ${JSON.stringify(config)}`, className, config, inputs, weights });
}

const CL = 'channels_last';
const CF = 'channels_first';
/** An input of `spatial` size and `channels` in the given data format, batch 2. */
const shaped = (spatial: number[], channels: number, format: string): number[] => (format === CF ? [2, channels, ...spatial] : [2, ...spatial, channels]);

// convolutions
for (const format of [CL, CF]) {
  for (const padding of ['valid', 'same', 'causal']) {
    for (const [k, s, d] of [[3, 1, 1], [2, 2, 1], [3, 1, 2], [2, 1, 2]]) {
      add('Conv1D', { filters: 3, kernel_size: [k], strides: [s], dilation_rate: [d], padding, data_format: format, activation: d === 2 ? 'sigmoid' : 'linear' }, [shaped([9], 2, format)], [['kernel', [k, 2, 3]], ['bias', [3]]]);
    }
  }
  add('Conv1D', { filters: 2, kernel_size: 3, padding: 'causal', data_format: format, use_bias: false, strides: 2 }, [shaped([8], 3, format)], [['kernel', [3, 3, 2]]]);
  add('Conv1D', { filters: 4, kernel_size: 3, padding: 'causal', data_format: format, groups: 2, dilation_rate: 2 }, [shaped([8], 6, format)], [['kernel', [3, 3, 4]], ['bias', [4]]]);
  add('Conv2D', { filters: 6, kernel_size: [3, 2], padding: 'same', data_format: format, groups: 3, strides: 2, activation: 'relu' }, [shaped([6, 5], 6, format)], [['kernel', [3, 2, 2, 6]], ['bias', [6]]]);
  add('Conv3D', { filters: 2, kernel_size: 2, padding: 'valid', data_format: format, groups: 2, use_bias: false }, [shaped([3, 4, 3], 4, format)], [['kernel', [2, 2, 2, 2, 2]]]);
  for (const padding of ['valid', 'same']) {
    for (const [s, d] of [[1, 1], [2, 1], [1, 2]]) {
      add('Conv2D', { filters: 4, kernel_size: [3, 2], strides: [s, s], dilation_rate: [d, d], padding, data_format: format, activation: 'relu' }, [shaped([7, 6], 3, format)], [['kernel', [3, 2, 3, 4]], ['bias', [4]]]);
      add('Conv2D', { filters: 2, kernel_size: 3, strides: s, dilation_rate: d, padding, data_format: format, use_bias: false, groups: 1 }, [shaped([7, 6], 3, format)], [['kernel', [3, 3, 3, 2]]]);
    }
    add('Conv3D', { filters: 2, kernel_size: [2, 3, 2], strides: [1, 2, 1], padding, data_format: format, use_bias: true }, [shaped([4, 5, 4], 2, format)], [['kernel', [2, 3, 2, 2, 2]], ['bias', [2]]]);
    add('Conv3D', { filters: 2, kernel_size: 2, dilation_rate: 2, padding, data_format: format, use_bias: false, activation: 'elu' }, [shaped([5, 5, 5], 1, format)], [['kernel', [2, 2, 2, 1, 2]]]);
    for (const [k, s, d] of [[3, 2, 1], [2, 3, 1], [3, 1, 2]]) {
      add('Conv2DTranspose', { filters: 3, kernel_size: [k, k], strides: [s, s], dilation_rate: [d, d], padding, data_format: format, activation: 'tanh', output_padding: null }, [shaped([4, 3], 2, format)], [['kernel', [k, k, 3, 2]], ['bias', [3]]]);
      add('Conv2DTranspose', { filters: 2, kernel_size: k, strides: s, dilation_rate: d, padding, data_format: format, use_bias: false }, [shaped([3, 4], 3, format)], [['kernel', [k, k, 2, 3]]]);
      if (s > 1) add('Conv2DTranspose', { filters: 2, kernel_size: [k, 2], strides: [s, 2], padding, data_format: format, output_padding: [s - 1, 1] }, [shaped([3, 4], 2, format)], [['kernel', [k, 2, 2, 2]], ['bias', [2]]]);
    }
    for (const mult of [1, 2]) {
      add('DepthwiseConv2D', { kernel_size: [3, 3], strides: [mult, mult], depth_multiplier: mult, padding, data_format: format, dilation_rate: [1, 1], use_bias: mult === 1 }, [shaped([6, 5], 3, format)], [['depthwise_kernel', [3, 3, 3, mult]], ...(mult === 1 ? [['bias', [3 * mult]] as [string, number[]]] : [])]);
      add('SeparableConv2D', { filters: 4, kernel_size: [3, 2], depth_multiplier: mult, padding, data_format: format, strides: [1, mult], dilation_rate: [1, 1], activation: 'relu' }, [shaped([6, 5], 2, format)], [['depthwise_kernel', [3, 2, 2, mult]], ['pointwise_kernel', [1, 1, 2 * mult, 4]], ['bias', [4]]]);
    }
  }
  add('DepthwiseConv2D', { kernel_size: 2, dilation_rate: 2, data_format: format, activation: 'relu6' }, [shaped([6, 5], 2, format)], [['depthwise_kernel', [2, 2, 2, 1]], ['bias', [2]]]);
  add('DepthwiseConv2D', { kernel_size: [3, 2], dilation_rate: [2, 1], padding: 'same', depth_multiplier: 2, data_format: format, use_bias: false }, [shaped([7, 5], 2, format)], [['depthwise_kernel', [3, 2, 2, 2]]]);
  add('SeparableConv2D', { filters: 2, kernel_size: 2, dilation_rate: 2, data_format: format, use_bias: false }, [shaped([6, 5], 2, format)], [['depthwise_kernel', [2, 2, 2, 1]], ['pointwise_kernel', [1, 1, 2, 2]]]);
}

// pooling
for (const format of [CL, CF]) {
  for (const padding of ['valid', 'same']) {
    for (const kind of ['Max', 'Average']) {
      add(`${kind}Pooling1D`, { pool_size: [3], strides: [2], padding, data_format: format }, [shaped([8], 2, format)]);
      add(`${kind}Pooling2D`, { pool_size: [3, 2], strides: null, padding, data_format: format }, [shaped([7, 5], 2, format)]);
      add(`${kind}Pooling2D`, { pool_size: 2, strides: 1, padding, data_format: format }, [shaped([4, 5], 2, format)]);
      if (kind === 'Average' || padding === 'valid') add(`${kind}Pooling3D`, { pool_size: [2, 2, 2], strides: [1, 2, 2], padding, data_format: format }, [shaped([3, 5, 4], 2, format)]);
    }
  }
  for (const kind of ['Max', 'Average']) {
    add(`Global${kind}Pooling1D`, { data_format: format, keepdims: false }, [shaped([5], 3, format)]);
    add(`Global${kind}Pooling2D`, { data_format: format }, [shaped([4, 5], 3, format)]);
    add(`Global${kind}Pooling1D`, { data_format: format, keepdims: true }, [shaped([5], 3, format)]);
    add(`Global${kind}Pooling2D`, { data_format: format, keepdims: true }, [shaped([4, 5], 3, format)]);
  }
}

// normalization
const bn = (c: number, center = true, scale = true): [string, number[]][] => [
  ...(scale ? [['gamma', [c]] as [string, number[]]] : []),
  ...(center ? [['beta', [c]] as [string, number[]]] : []),
  ['moving_mean', [c]],
  ['moving_variance', [c]],
];
add('BatchNormalization', { axis: -1, epsilon: 1e-3 }, [[2, 4, 3, 5]], bn(5));
add('BatchNormalization', { axis: 1, epsilon: 0.01, center: false }, [[2, 3, 4, 5]], bn(3, false));
add('BatchNormalization', { axis: 2, scale: false, renorm: false, virtual_batch_size: null, adjustment: null }, [[2, 3, 4, 5]], bn(4, true, false));
add('LayerNormalization', { axis: -1, epsilon: 1e-3 }, [[2, 3, 4, 5]], [['gamma', [5]], ['beta', [5]]]);
add('LayerNormalization', { axis: [1, 2, 3], epsilon: 1e-5, rms_scaling: false }, [[2, 3, 4, 2]], [['gamma', [3, 4, 2]], ['beta', [3, 4, 2]]]);
add('LayerNormalization', { axis: -1, center: false, scale: false }, [[2, 6]]);

// activation layers
add('ReLU', {}, [[2, 4, 3]]);
add('ReLU', { max_value: 6 }, [[2, 4, 3]]);
add('ReLU', { threshold: 0.2 }, [[2, 4, 3]]);
add('ReLU', { negative_slope: 0.1 }, [[2, 4, 3]]);
add('ReLU', { negative_slope: 0.1, max_value: 1.5, threshold: 0.5 }, [[2, 4, 3]]);
add('ReLU', { threshold: -0.5, negative_slope: 0.3 }, [[2, 4, 3]]);
add('LeakyReLU', { alpha: 0.2 }, [[2, 4, 3]]);
add('LeakyReLU', { negative_slope: 0.05 }, [[2, 4, 3]]);
add('PReLU', { shared_axes: null }, [[2, 4, 3, 2]], [['alpha', [4, 3, 2]]]);
add('PReLU', { shared_axes: [1, 2] }, [[2, 4, 3, 2]], [['alpha', [1, 1, 2]]]);
add('ELU', { alpha: 0.699999988079071 }, [[2, 4, 3]]);
add('ELU', { alpha: 1 }, [[2, 4, 3]]);
add('ThresholdedReLU', { theta: 0.5 }, [[2, 4, 3]]);
add('Softmax', { axis: -1 }, [[2, 4, 3]]);
add('Softmax', { axis: 1 }, [[2, 4, 3]]);
for (const activation of ACTIVATIONS) add('Activation', { activation }, [[2, 3, 4]]);

// core and reshaping
add('Dense', { units: 3, activation: 'relu', use_bias: true }, [[2, 5]], [['kernel', [5, 3]], ['bias', [3]]]);
add('Dense', { units: 4, activation: 'softmax', use_bias: false }, [[2, 3, 5]], [['kernel', [5, 4]]]);
add('Flatten', { data_format: CL }, [[2, 3, 4, 2]]);
add('Flatten', { data_format: CF }, [[2, 3, 4, 2]]);
add('Reshape', { target_shape: [4, -1] }, [[2, 3, 4, 2]]);
add('Permute', { dims: [3, 1, 2] }, [[2, 3, 4, 2]]);
add('RepeatVector', { n: 3 }, [[2, 4]]);
for (const format of [CL, CF]) {
  add('ZeroPadding2D', { padding: 1, data_format: format }, [shaped([3, 4], 2, format)]);
  add('ZeroPadding2D', { padding: [[1, 2], [0, 3]], data_format: format }, [shaped([3, 4], 2, format)]);
  add('Cropping2D', { cropping: [[1, 0], [2, 1]], data_format: format }, [shaped([5, 6], 2, format)]);
  add('UpSampling2D', { size: [2, 3], data_format: format, interpolation: 'nearest' }, [shaped([3, 4], 2, format)]);
  add('UpSampling2D', { size: 2, data_format: format }, [shaped([3, 4], 2, format)]);
}
add('ZeroPadding2D', { padding: [2, 1] }, [[2, 3, 4, 1]]);
add('ZeroPadding1D', { padding: [2, 1] }, [[2, 5, 3]]);
add('ZeroPadding1D', { padding: 3 }, [[2, 5, 3]]);
add('Cropping1D', { cropping: [2, 1] }, [[2, 6, 3]]);
add('Cropping1D', {}, [[2, 6, 3]]);
add('UpSampling1D', { size: 3 }, [[2, 4, 3]]);
for (const format of [CL, CF]) {
  add('ZeroPadding3D', { padding: [[1, 0], [0, 2], [1, 1]], data_format: format }, [shaped([2, 3, 2], 2, format)]);
  add('ZeroPadding3D', { padding: [1, 2, 0], data_format: format }, [shaped([2, 3, 2], 2, format)]);
  add('Cropping3D', { cropping: [[1, 0], [0, 2], [1, 1]], data_format: format }, [shaped([3, 4, 4], 2, format)]);
  add('Cropping3D', { cropping: 1, data_format: format }, [shaped([3, 4, 4], 2, format)]);
  add('UpSampling3D', { size: [2, 1, 3], data_format: format }, [shaped([2, 3, 2], 2, format)]);
}
add('Cropping2D', { cropping: 1 }, [[2, 5, 6, 1]]);

// merging
for (const merge of ['Add', 'Multiply', 'Average', 'Maximum', 'Minimum']) add(merge, {}, [[2, 3, 4], [2, 3, 4], [2, 3, 4]]);
add('Subtract', {}, [[2, 3, 4], [2, 3, 4]]);
add('Concatenate', { axis: -1 }, [[2, 3, 4], [2, 3, 2]]);
add('Concatenate', { axis: 1 }, [[2, 3, 4], [2, 1, 4]]);

// preprocessing
add('Rescaling', { scale: 1 / 127.5, offset: -1 }, [[2, 3, 4, 3]]);
add('Rescaling', { scale: 0.00392156862745098 }, [[2, 3, 4, 3]]);
add('Normalization', { axis: -1, mean: null, variance: null, invert: false }, [[2, 3, 4, 3]], [['mean', [3]], ['variance', [3]], ['count', []]]);
add('Normalization', { axis: -1, mean: [0.5, -0.2, 0.1], variance: [0.25, 2, 1e-16] }, [[2, 3, 4, 3]]);
add('Normalization', { axis: 1 }, [[2, 3, 4, 2]], [['mean', [3]], ['variance', [3]], ['count', []]]);

/** Random data for a case: inputs in [-2, 2), weights in [-1, 1), variances in [0.5, 1.5). */
function materialize(c: Case, seed: number): { inputs: { shape: number[]; data: number[] }[]; weights: Record<string, { shape: number[]; data: number[] }> } {
  const random = prng(seed);
  const fill = (shape: number[], lo: number, hi: number): number[] =>
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.fround(lo + (hi - lo) * random()));
  const inputs = c.inputs.map((shape) => ({ shape, data: fill(shape, -2, 2) }));
  const weights: Record<string, { shape: number[]; data: number[] }> = {};
  for (const [role, shape] of c.weights) {
    weights[role] = { shape, data: role.endsWith('variance') ? fill(shape, 0.5, 1.5) : role === 'count' ? [10] : fill(shape, -1, 1) };
  }
  return { inputs, weights };
}

function functional(c: Case): Json {
  const inputs = c.inputs.map((shape, i) => ({
    class_name: 'InputLayer',
    name: `in${i}`,
    config: { name: `in${i}`, batch_input_shape: [null, ...shape.slice(1)], dtype: 'float32', sparse: false, ragged: false },
    inbound_nodes: [],
  }));
  return {
    class_name: 'Functional',
    config: {
      name: 'case',
      layers: [...inputs, { class_name: c.className, name: 'layer', config: { ...c.config, name: 'layer' }, inbound_nodes: [inputs.map((l) => [l.name, 0, 0, {}])] }],
      input_layers: inputs.map((l) => [l.name, 0, 0]),
      output_layers: [['layer', 0, 0]],
    },
  };
}

const RELATIVE = 1e-5;
const python = needsPython('torch');

test('every running catalogue entry matches a PyTorch re-computation of Keras within 1e-5 relative, both data formats, on every engine the catalogue gives it', python, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-catalogue-'));
  try {
    const data = cases.map((c, i) => ({ id: c.id, className: c.className, config: c.config, ...materialize(c, 1000 + i) }));
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(data));
    runPython(readFileSync(join(import.meta.dirname, '..', 'helpers', 'keras_oracle.py'), 'utf8'), [join(dir, 'cases.json'), join(dir, 'expected.json')]);
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { id: string; shape: number[]; data: number[] }[];
    assert.equal(expected.length, cases.length);
    for (const [i, c] of cases.entries()) {
      await t.test(c.id, async () => {
        const { inputs, weights } = data[i]!;
        const model = memoryModel(functional(c), {
          layer: { className: c.className, weights: Object.entries(weights).map(([role, w]) => ({ role, shape: w.shape, data: w.data })) },
        });
        const net = await buildModel(model);
        try {
          const batches = inputs.map((x) => ({ shape: x.shape, data: Float32Array.from(x.data) }));
          const want = expected[i]!;
          const check = (engine: Engine, out: Activation): void => {
            assert.deepEqual(out.shape, want.shape, `${c.id} on ${engine}: shape`);
            const scale = Math.max(...want.data.map(Math.abs), 1e-30);
            let worst = 0;
            want.data.forEach((e, j) => (worst = Math.max(worst, Math.abs(e - out.data[j]!))));
            assert.ok(worst <= RELATIVE * scale, `${c.id} on ${engine}: max error ${worst} > ${RELATIVE} x ${scale}`);
          };
          check('tfjs', (await runLayers(net, batches))[0]!);
          if (!catalogueEntry(c.className)!.engines.includes('ort')) return;
          const ort = await kerasOnOrt(net, { threads: 1 });
          assert.ok(!('reason' in ort), `${c.id}: the catalogue gives it to ONNX Runtime, but the converter says: ${'reason' in ort ? ort.reason : ''}`);
          try {
            check('ort', (await runLayersOrt(ort, batches))[0]!);
          } finally {
            await ort.onnx.release();
          }
        } finally {
          net.dispose();
        }
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the oracle cases cover every running class and every option value the catalogue says runs', () => {
  const missing: string[] = [];
  for (const entry of KERAS_CATALOGUE.filter((e) => e.status === 'runs' && e.className !== 'InputLayer')) {
    const mine = cases.filter((c) => c.className === entry.className);
    if (mine.length === 0) missing.push(`${entry.className}: no case`);
    for (const option of entry.options) {
      const used = mine.map((c) => (option.name in c.config ? c.config[option.name] : option.default));
      if (option.name === 'activation' && entry.className !== 'Activation') {
        if (!used.some((v) => v !== 'linear')) missing.push(`${entry.className}.activation: no non-linear case`);
      } else if (option.runs.kind === 'values') {
        for (const value of option.runs.values) if (!used.some((v) => JSON.stringify(v) === JSON.stringify(value))) missing.push(`${entry.className}.${option.name}=${JSON.stringify(value)}`);
      } else if (!mine.some((c) => option.name in c.config && JSON.stringify(c.config[option.name]) !== JSON.stringify(option.default))) {
        missing.push(`${entry.className}.${option.name}: never set to a non-default value`);
      }
      for (const v of used) assert.ok(ruleAccepts(option.runs, v), `${entry.className}.${option.name}=${JSON.stringify(v)} is used by a case but refused by the catalogue`);
    }
  }
  assert.deepEqual(missing, []);
});

function single(entry: LayerEntry, config: Json): unknown {
  return {
    class_name: 'Sequential',
    config: { name: 's', layers: [{ class_name: entry.className, config: { ...config, name: 'x', batch_input_shape: [null, 4, 3, 2] } }] },
  };
}

test('identity-at-inference layers return their input exactly, whatever their training options', async () => {
  const entries = KERAS_CATALOGUE.filter((e) => e.status === 'identity');
  assert.ok(entries.length >= 25);
  const random = prng(7);
  const data = Float32Array.from({ length: 2 * 4 * 3 * 2 }, () => random() * 4 - 2);
  for (const entry of entries) {
    const net = await buildModel(memoryModel(single(entry, { factor: 0.3, rate: 0.5, stddev: 1, fill_mode: 'reflect' }), {}));
    try {
      const [out] = await runLayers(net, [{ shape: [2, 4, 3, 2], data }]);
      assert.deepEqual([...out!.data], [...data], entry.className);
    } finally {
      net.dispose();
    }
  }
});

test('refused classes are refused with a sentence naming the layer and the class', async () => {
  for (const entry of KERAS_CATALOGUE.filter((e) => e.status === 'refused')) {
    await assert.rejects(
      buildModel(memoryModel(single(entry, {}), {})),
      (e: Error) => e instanceof UnsupportedError && e.message.includes(`layer 'x' is a ${entry.className} layer, `) && e.message.includes(entry.refusal!),
      entry.className,
    );
  }
});

test('an option the catalogue does not list, or a value it does not run, is refused by name, never ignored', async () => {
  const conv = KERAS_CATALOGUE.find((e) => e.className === 'Conv2D')!;
  await assert.rejects(
    buildModel(memoryModel(single(conv, { filters: 2, kernel_size: [3, 3], lora_rank: 4 }), {})),
    /layer 'x' \(Conv2D\) has the option lora_rank=4, which convscope's Keras catalogue does not list for Conv2D/,
  );
  await assert.rejects(
    buildModel(memoryModel(single(conv, { filters: 2, kernel_size: [3, 3], padding: 'full' }), {})),
    /layer 'x' \(Conv2D\) uses padding='full', which convscope cannot run \(it runs padding: 'valid', 'same'\)/,
  );
  const bnEntry = KERAS_CATALOGUE.find((e) => e.className === 'BatchNormalization')!;
  await assert.rejects(buildModel(memoryModel(single(bnEntry, { renorm: true }), {})), /layer 'x' \(BatchNormalization\) uses renorm=True/);
});
