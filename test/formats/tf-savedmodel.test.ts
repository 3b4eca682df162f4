import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { activationName, runLayers } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { openBundle } from '../../src/formats/tf-bundle.js';
import { fileSource } from '../../src/io/node-source.js';
import type { Model, Weight } from '../../src/model/model.js';
import { openModel } from '../../src/formats/open.js';
import { fixture, needsFixtures, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Oracle: ../shared/fixtures/14_tf_savedmodel_checkpoints, real SavedModels and checkpoints written by
 * TensorFlow 1.9 to 2.14, with expected.json from an independent pure-Python reader (sha256 of every
 * tensor's stored bytes, shapes, dtypes, the object graph's variable names).
 */

const DIR = '14_tf_savedmodel_checkpoints';

interface ExpectedTensor {
  key: string;
  dtype: string;
  shape: number[];
  sha256: string;
  variable_name?: string;
}
interface ExpectedBundle {
  num_shards: number;
  num_tensors: number;
  tensors: ExpectedTensor[];
}

function expected(name: string): Record<string, ExpectedBundle> {
  return (JSON.parse(readFileSync(fixture(DIR, name, 'expected.json'), 'utf8')) as { bundles: Record<string, ExpectedBundle> }).bundles;
}

const FIXTURES = needsFixtures.skip ? [] : readdirSync(fixture(DIR)).filter((n) => !n.endsWith('.md'));

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function allWeights(model: Model): Weight[] {
  return [...model.layers.flatMap((l) => l.weights), ...(model.trainingState ?? [])];
}

test('every tensor of every fixture bundle has the expected key, dtype, shape and sha256', needsFixtures, async () => {
  assert.equal(FIXTURES.length, 8);
  let tensors = 0;
  for (const name of FIXTURES) {
    for (const [prefix, bundle] of Object.entries(expected(name))) {
      const opened = await openBundle(await fileSource(fixture(DIR, name, `${prefix}.index`)));
      assert.equal(opened.numShards, bundle.num_shards, prefix);
      assert.deepEqual(opened.tensors.map((t) => t.key), bundle.tensors.map((t) => t.key), prefix);
      for (const [i, e] of bundle.tensors.entries()) {
        const t = opened.tensors[i]!;
        assert.equal(t.dtype, e.dtype, e.key);
        assert.deepEqual(t.shape, e.shape, e.key);
        assert.equal(sha256(await opened.readRaw(t)), e.sha256, `${prefix}: ${e.key}`);
        tensors++;
      }
    }
  }
  assert.equal(tensors, 140);
});

test('opened as models, weights read back bit-exactly under their Keras layer names; slots and counters are listed apart', needsFixtures, async () => {
  for (const name of FIXTURES) {
    for (const [prefix, bundle] of Object.entries(expected(name))) {
      const model = await openModel(fixture(DIR, name, prefix.replace(/\/variables\/variables$/, '')));
      const weights = allWeights(model);
      const numeric = bundle.tensors.filter((t) => t.dtype !== 'string');
      assert.equal(weights.length, numeric.length, `${prefix}: every numeric tensor is a weight or training state`);
      for (const e of numeric) {
        const path = e.key.replace(/\/\.ATTRIBUTES\/VARIABLE_VALUE$/, '');
        const candidates = weights.filter((w) => w.name === e.variable_name || w.name === path);
        assert.equal(candidates.length, 1, `${prefix}: one weight is named ${e.variable_name ?? path}`);
        const hashes = await Promise.all(candidates.map(async (w) => sha256(bytesOf((await w.read()).data))));
        assert.ok(hashes.includes(e.sha256), `${prefix}: ${e.key} (${e.variable_name}) is read bit-exactly`);
      }
      const stateNames = new Set((model.trainingState ?? []).map((w) => w.name));
      for (const e of numeric) {
        const isState = /OPTIMIZER_SLOT|^optimizer\/|^keras_api\/metrics\/|\/(Adam|Adam_1|Momentum)$|^beta[12]_power$/.test(e.key);
        if (isState) assert.ok([...stateNames].some((n) => n === e.variable_name || n === e.key || e.key.startsWith(`${n}/`)), `${e.key} is training state`);
      }
      for (const layer of model.layers) {
        for (const w of layer.weights) {
          const e = numeric.find((t) => t.variable_name === w.name);
          if (e?.variable_name?.includes('/')) assert.equal(layer.name, e.variable_name.split('/')[0], `${w.name} belongs to layer ${layer.name}`);
        }
      }
    }
  }
});

test('Keras SavedModels take their architecture from keras_metadata.pb (or saved_model.pb before Keras 2.5)', needsFixtures, async () => {
  const mlp = await openModel(fixture(DIR, 'hritik_mnist_keras_savedmodel', 'mnist_model'));
  assert.equal(mlp.format, 'tf-savedmodel');
  assert.equal(mlp.frameworkVersion, '2.5.0');
  assert.deepEqual(mlp.layers.map((l) => `${l.name}:${l.className}`), ['flatten_input:InputLayer', 'flatten:Flatten', 'dense:Dense', 'dense_1:Dense']);
  const cnn = await openModel(fixture(DIR, 'eduardr02_mnist_keras_savedmodel', 'my_model'));
  const conv = cnn.layers.find((l) => l.name === 'conv2d')!;
  assert.equal(conv.className, 'Conv2D');
  assert.deepEqual(conv.weights.find((w) => w.role === 'kernel')!.axes, ['kh', 'kw', 'in', 'out']);
  const slots = cnn.trainingState!.filter((w) => w.layer === 'conv2d').map((w) => `${w.name}:${w.role}`);
  assert.deepEqual(slots.sort(), ['Adam/conv2d/bias/m:m', 'Adam/conv2d/bias/v:v', 'Adam/conv2d/kernel/m:m', 'Adam/conv2d/kernel/v:v']);
  const iter = cnn.trainingState!.find((w) => w.name === 'optimizer/iter')!;
  assert.equal(iter.dtype, 'int64');
  const lstm = await openModel(fixture(DIR, 'tfnet_keras_lstm_sequential', 'lstm_from_sequential'));
  assert.deepEqual(lstm.layers.find((l) => l.name === 'lstm')!.weights.map((w) => w.role), ['kernel', 'recurrent_kernel', 'bias']);
  assert.equal(lstm.trainingState!.filter((w) => w.layer === 'lstm').length, 6, 'Keras 2.11+ optimizer variables are linked to their layer by name');
});

test('TF1 checkpoints open by prefix, by the checkpoint file and by .index; 4-D variables are drawn as conv2d filters', needsFixtures, async () => {
  const dir = fixture(DIR, 'dotnet_cifar_tf1_ckpt', 'cifar_model');
  for (const path of [join(dir, 'model.ckpt'), join(dir, 'checkpoint'), join(dir, 'model.ckpt.index'), join(dir, 'model.ckpt.meta'), dir]) {
    const model = await openModel(path);
    assert.equal(model.format, 'tf-checkpoint');
    assert.equal(model.frameworkVersion, '1.10.0', 'version from the .meta MetaGraphDef');
    const kernel = model.layers.find((l) => l.name === 'Wconv1')!.weights[0]!;
    assert.deepEqual([kernel.role, ...kernel.axes], ['kernel', 'kh', 'kw', 'in', 'out']);
    assert.match(model.notes!.map((n) => n.text).join(' '), /tf\.nn\.conv2d filters/);
    assert.deepEqual(model.trainingState!.map((w) => w.name).filter((n) => n.startsWith('Wconv1')), ['Wconv1/Adam', 'Wconv1/Adam_1']);
  }
});

const scratch = mkdtempSync(join(tmpdir(), 'convscope-tf-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

test('a flipped bit in a data shard or in the index is refused by its CRC-32C with a sentence', needsFixtures, async () => {
  const dir = join(scratch, 'flip');
  cpSync(fixture(DIR, 'hritik_mnist_keras_savedmodel', 'mnist_model'), dir, { recursive: true });
  const shard = join(dir, 'variables', 'variables.data-00000-of-00001');
  const bytes = readFileSync(shard);
  const bundle = await openBundle(await fileSource(join(dir, 'variables', 'variables.index')));
  const kernel = bundle.tensors.find((t) => t.key === 'layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE')!;
  bytes[kernel.offset + 1000]! ^= 0x10;
  writeFileSync(shard, bytes);
  const model = await openModel(dir);
  const weight = model.layers.find((l) => l.name === 'dense')!.weights.find((w) => w.role === 'kernel')!;
  await assert.rejects(weight.read(), /is damaged: tensor 'layer_with_weights-0\/kernel\/\.ATTRIBUTES\/VARIABLE_VALUE' fails its CRC-32C check \(the index stores 0x[0-9a-f]{8}, its 401408 bytes give 0x[0-9a-f]{8}\)\.$/);
  const index = join(dir, 'variables', 'variables.index');
  const indexBytes = readFileSync(index);
  indexBytes[20]! ^= 0x01;
  writeFileSync(index, indexBytes);
  await assert.rejects(openModel(dir), /variables\.index is damaged: the data block 0 at byte 0 fails its CRC-32C check/);
});

test('a snappy-compressed index (TF Serving) reads a=0.5, b=2, c=3', needsFixtures, async () => {
  const model = await openModel(fixture(DIR, 'tfserving_half_plus_two_snappy', 'saved_model_half_plus_two_tf2_cpu', '00000123'));
  assert.equal(model.framework, 'tensorflow');
  const values = Object.fromEntries(await Promise.all(model.layers.map(async (l) => [l.name, Array.from((await l.weights[0]!.read()).data as Float32Array)])));
  assert.deepEqual(values, { a: [0.5], b: [2], c: [3] });
});

test('a Keras SavedModel runs: conv2d and dense_2 outputs match a float64 NumPy forward pass within 1e-5', { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('numpy')) }, async () => {
  const model = await openModel(fixture(DIR, 'eduardr02_mnist_keras_savedmodel', 'my_model'));
  const input = Float32Array.from({ length: 28 * 28 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  const net = await buildModel(model);
  const got = new Map<string, Float32Array>();
  try {
    await runLayers(net, [{ shape: [1, 28, 28, 1], data: input }], {
      want: (node) => ['conv2d', 'dense_2'].includes(activationName(node)),
      onActivation: (a) => void got.set(activationName(a.node), Float32Array.from(a.data)),
    });
  } finally {
    net.dispose();
  }
  const weights: Record<string, number[]> = {};
  for (const layer of model.layers) for (const w of layer.weights) weights[`${layer.name}/${w.role}`] = Array.from((await w.read()).data as Float32Array);
  const script = `
import json, sys, numpy as np
d = json.load(open(sys.argv[1]))
W = {k: np.array(v, dtype=np.float64) for k, v in d['w'].items()}
x = np.array(d['x'], dtype=np.float64).reshape(28, 28, 1)
def conv(x, name, cin, cout):
    k = W[name + '/kernel'].reshape(3, 3, cin, cout); h, w = x.shape[0] - 2, x.shape[1] - 2
    out = np.zeros((h, w, cout))
    for i in range(3):
        for j in range(3):
            out += x[i:i+h, j:j+w, :] @ k[i, j]
    return np.maximum(out + W[name + '/bias'], 0)
def pool(x):
    h, w = x.shape[0] // 2, x.shape[1] // 2
    return x[:2*h, :2*w].reshape(h, 2, w, 2, -1).max(axis=(1, 3))
c1 = conv(x, 'conv2d', 1, 32)
h = pool(conv(pool(c1), 'conv2d_1', 32, 64)).reshape(-1)
h = np.maximum(h @ W['dense/kernel'].reshape(1600, 100) + W['dense/bias'], 0)
h = np.maximum(h @ W['dense_1/kernel'].reshape(100, 64) + W['dense_1/bias'], 0)
z = h @ W['dense_2/kernel'].reshape(64, 10) + W['dense_2/bias']
p = np.exp(z - z.max()); p /= p.sum()
print(json.dumps({'conv2d': c1.reshape(-1).tolist(), 'dense_2': p.tolist()}))
`;
  const request = join(scratch, 'forward.json');
  writeFileSync(request, JSON.stringify({ w: weights, x: Array.from(input) }));
  const oracle = JSON.parse(runPython(script, [request])) as Record<string, number[]>;
  for (const node of ['conv2d', 'dense_2']) {
    const a = got.get(node)!;
    assert.equal(a.length, oracle[node]!.length, node);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - oracle[node]![i]!));
    assert.ok(worst <= 1e-5, `${node}: max |convscope - numpy| = ${worst}`);
  }
});

/** A Keras Conv2D -> BatchNormalization -> Flatten -> Dense, the architecture of the bundle tf_bundle.py writes. */
const BUNDLE_ARCH = {
  class_name: 'Sequential',
  config: {
    name: 'sequential',
    layers: [
      { class_name: 'InputLayer', config: { batch_input_shape: [null, 6, 6, 1], dtype: 'float32', name: 'input_1' } },
      { class_name: 'Conv2D', config: { name: 'conv2d', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'valid', data_format: 'channels_last', dilation_rate: [1, 1], activation: 'relu', use_bias: true } },
      { class_name: 'BatchNormalization', config: { name: 'batch_normalization', axis: -1, epsilon: 0.001, momentum: 0.99, center: true, scale: true } },
      { class_name: 'Flatten', config: { name: 'flatten', data_format: 'channels_last' } },
      { class_name: 'Dense', config: { name: 'dense', units: 3, activation: 'linear', use_bias: true } },
    ],
  },
  keras_version: '2.12.0',
  backend: 'tensorflow',
};

let written: string | undefined;
function writtenBundles(): string {
  if (!written) {
    written = join(scratch, 'written');
    runPython(`import runpy; runpy.run_path(${JSON.stringify(join(ROOT, 'test', 'helpers', 'tf_bundle.py'))}, run_name='__main__')`, [written]);
  }
  return written;
}

test('a bundle split over two data shards, with snappy index blocks and a BatchNormalization layer, reads exactly and runs with --config', needsPython('numpy'), async () => {
  const dir = writtenBundles();
  const values = JSON.parse(readFileSync(join(dir, 'values.json'), 'utf8')) as Record<string, number[]>;
  const archPath = join(dir, 'arch.json');
  writeFileSync(archPath, JSON.stringify(BUNDLE_ARCH));
  const model = await openModel(join(dir, 'ckpt'), { config: archPath });
  assert.equal(model.metadata?.bundle_shards, '2');
  const bn = model.layers.find((l) => l.name === 'batch_normalization')!;
  assert.equal(bn.className, 'BatchNormalization');
  assert.deepEqual(bn.weights.map((w) => w.role).sort(), ['beta', 'gamma', 'moving_mean', 'moving_variance']);
  assert.deepEqual(model.layers.find((l) => l.name === 'conv2d')!.weights.find((w) => w.role === 'kernel')!.axes, ['kh', 'kw', 'in', 'out']);
  for (const layer of model.layers) {
    for (const w of layer.weights) assert.deepEqual(Array.from((await w.read()).data as Float32Array), values[w.name], `${w.name} (shard ${w.name.startsWith('conv2d') ? 0 : 1})`);
  }
  const input = Float32Array.from({ length: 36 }, (_, i) => Math.cos(i * 0.7));
  const net = await buildModel(model);
  let got: Float32Array | undefined;
  try {
    await runLayers(net, [{ shape: [1, 6, 6, 1], data: input }], { want: (n) => activationName(n) === 'dense', onActivation: (a) => void (got = Float32Array.from(a.data)) });
  } finally {
    net.dispose();
  }
  const request = join(dir, 'forward.json');
  writeFileSync(request, JSON.stringify({ x: Array.from(input) }));
  const script = `
import json, sys, numpy as np
v = {k: np.array(a, dtype=np.float64) for k, a in json.load(open(sys.argv[1])).items()}
x = np.array(json.load(open(sys.argv[2]))['x'], dtype=np.float64).reshape(6, 6, 1)
k = v['conv2d/kernel'].reshape(3, 3, 1, 4)
c = np.zeros((4, 4, 4))
for i in range(3):
    for j in range(3):
        c += x[i:i+4, j:j+4, :] @ k[i, j]
c = np.maximum(c + v['conv2d/bias'], 0)
b = (c - v['batch_normalization/moving_mean']) / np.sqrt(v['batch_normalization/moving_variance'] + 0.001) * v['batch_normalization/gamma'] + v['batch_normalization/beta']
print(json.dumps((b.reshape(-1) @ v['dense/kernel'].reshape(64, 3) + v['dense/bias']).tolist()))
`;
  const want = JSON.parse(runPython(script, [join(dir, 'values.json'), request])) as number[];
  assert.equal(got?.length, 3);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got![i]! - want[i]!) <= 1e-5, `dense[${i}]: ${got![i]} vs numpy ${want[i]}`);
});

test('hostile bundles are refused before allocating: a snappy block declaring 1 GiB, a tensor past its shard, a missing shard', needsPython('numpy'), async () => {
  const dir = join(writtenBundles(), 'hostile');
  await assert.rejects(openModel(join(dir, 'bomb.index')), /bomb\.index: the snappy data block 0 at byte 0 declares 1073741824 bytes from \d+, more than snappy can encode\./);
  await assert.rejects(openModel(join(dir, 'past.index')), /past\.data-00000-of-00001: tensor 'w' lies at byte 8 with 16 bytes, past the end of the shard, which has 16 bytes\./);
  await assert.rejects(openModel(join(dir, 'missing.index')), /missing\.index names 'missing\.data-00001-of-00002' as data shard 2 of 2 of 'missing\.index', but .* does not exist\./);
});
