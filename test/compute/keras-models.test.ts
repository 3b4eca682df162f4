import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runLayers, type Activation, type InputBatch } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { fileSource } from '../../src/io/node-source.js';
import { openHdf5 } from '../../src/io/hdf5.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy, encodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

const TOLERANCE = 1e-4;

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function npyBatch(path: string): InputBatch {
  const a = decodeNpy(readFileSync(path), path);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
}

/** Opens, builds and runs a model file; returns every layer's activation and the outputs. */
async function run(path: string, inputs: InputBatch[]): Promise<{ layers: Activation[]; outputs: Activation[] }> {
  const model = await openModel(path);
  try {
    const net = await buildModel(model);
    try {
      const layers: Activation[] = [];
      const outputs = await runLayers(net, inputs, { want: () => true, onActivation: (a) => void layers.push(a) });
      return { layers, outputs };
    } finally {
      net.dispose();
    }
  } finally {
    model.close();
  }
}

test('fixture 03: Keras 2.1.3 Conv2D -> BatchNormalization -> Dense predictions within 1e-4', needsFixtures, async () => {
  const dir = '03_dl4j_cnn_batchnorm';
  const { outputs } = await run(fixture(dir, 'cnn_batch_norm.h5'), [npyBatch(fixture(dir, 'input.npy'))]);
  const expected = npyBatch(fixture(dir, 'predictions.npy'));
  assert.deepEqual(outputs[0]!.shape, expected.shape);
  assert.ok(maxError(outputs[0]!.data, expected.data) <= TOLERANCE);
});

test('fixture 04: Keras 1.1.2 Convolution2D model gives softmax 0.295033 0.328196 0.376771', needsFixtures, async () => {
  const dir = '04_dl4j_keras1_cnn';
  const chw = readFileSync(fixture(dir, 'cnn_tf_input.txt'), 'utf8').trim().split(/\s+/).map(Number);
  assert.equal(chw.length, 192);
  const hwc = new Float32Array(192);
  for (let c = 0; c < 3; c++) for (let i = 0; i < 64; i++) hwc[i * 3 + c] = chw[c * 64 + i]!;
  const { outputs } = await run(fixture(dir, 'cnn_tf_model.h5'), [{ shape: [1, 8, 8, 3], data: hwc }]);
  const expected = readFileSync(fixture(dir, 'cnn_tf_output.txt'), 'utf8').trim().split(/\s+/).map(Number);
  assert.deepEqual(outputs[0]!.shape, [1, 3]);
  assert.ok(maxError(outputs[0]!.data, expected) <= 1e-6, `got ${Array.from(outputs[0]!.data).join(' ')}`);
});

test('fixture 05: SeparableConv2D of ones with arange weights gives 112590 ... 132615', needsFixtures, async () => {
  const { outputs } = await run(fixture('05_dl4j_weight_layout', 'sepconv2d_tensorflow_2.h5'), [
    { shape: [1, 3, 4, 5], data: new Float32Array(60).fill(1) },
  ]);
  const row = [112590, 116595, 120600, 124605, 128610, 132615];
  assert.deepEqual(outputs[0]!.shape, [1, 1, 2, 6]);
  assert.ok(maxError(outputs[0]!.data, [...row, ...row]) <= TOLERANCE);
});

test('fixture 05: a Theano-backend Conv2D runs with its kernel flipped, as Keras loads it', needsFixtures, async () => {
  const input = Float32Array.from({ length: 125 }, (_, i) => Math.sin(i));
  const [theano, tensorflow] = await Promise.all(
    ['conv2d_theano_2.h5', 'conv2d_tensorflow_2.h5'].map((f) => run(fixture('05_dl4j_weight_layout', f), [{ shape: [1, 5, 5, 5], data: input }])),
  );
  // Both files store kernel = arange(270) in (3, 3, 5, 6): the Theano one must act as kernel[::-1, ::-1].
  const kernel = (kh: number, kw: number, c: number, o: number): number => ((kh * 3 + kw) * 5 + c) * 6 + o;
  const bias = (o: number): number => o;
  const expected = (flip: boolean): number[] => {
    const out: number[] = [];
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 3; x++)
        for (let o = 0; o < 6; o++) {
          let s = bias(o);
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++)
              for (let c = 0; c < 5; c++) s += input[((y + i) * 5 + (x + j)) * 5 + c]! * kernel(flip ? 2 - i : i, flip ? 2 - j : j, c, o);
          out.push(s);
        }
    return out;
  };
  assert.ok(maxError(tensorflow!.outputs[0]!.data, expected(false)) <= 1e-2, 'tensorflow-backend file');
  assert.ok(maxError(theano!.outputs[0]!.data, expected(true)) <= 1e-2, 'theano-backend file');
});

for (const name of ['conv1d_k2_s1_d2_cl_valid', 'conv1d_k3_s2_d1_cf_same']) {
  test(`fixture 07: ${name}: every stored layer activation within 1e-4`, needsFixtures, async () => {
    const dir = '07_dl4j_conv1d_io';
    const h5 = await openHdf5(await fileSource(fixture(dir, `${name}_inputs_and_outputs.h5`)));
    try {
      const inputs = await Promise.all(h5.keys('inputs').map(async (k) => {
        const d = h5.dataset(`inputs/${k}`, k);
        return { shape: [...d.shape], data: Float32Array.from((await h5.read(d)) as Float32Array) };
      }));
      const { layers } = await run(fixture(dir, `${name}_model.h5`), inputs);
      const stored = h5.keys('activations');
      assert.ok(stored.length > 0);
      for (const layer of stored) {
        const d = h5.dataset(`activations/${layer}`, layer);
        const ours = layers.find((a) => a.name === layer);
        assert.ok(ours, `no activation for ${layer}`);
        assert.deepEqual(ours.shape, d.shape);
        assert.ok(maxError(ours.data, (await h5.read(d)) as Float32Array) <= TOLERANCE, layer);
      }
    } finally {
      h5.close();
    }
  });
}

/** Random input in [0, 1) for a model's declared input shape, batch 2. */
function randomInput(shape: readonly number[]): InputBatch {
  const dims = [2, ...shape.slice(1)];
  let seed = 7;
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647));
  return { shape: dims, data };
}

async function sameActivations(a: string, b: string, inputShape: number[]): Promise<void> {
  const input = randomInput(inputShape);
  const [x, y] = [await run(a, [input]), await run(b, [input])];
  assert.deepEqual(x.layers.map((l) => l.name), y.layers.map((l) => l.name));
  assert.ok(x.layers.length >= 8);
  x.layers.forEach((l, i) => {
    assert.deepEqual(l.shape, y.layers[i]!.shape, l.name);
    assert.equal(maxError(l.data, y.layers[i]!.data), 0, l.name);
  });
  const probs = x.outputs[0]!.data;
  for (let n = 0; n < 2; n++) assert.ok(Math.abs(probs.subarray(n * 10, n * 10 + 10).reduce((s, v) => s + v, 0) - 1) < 1e-5);
}

test('fixture 08: Keras 2.5 h5 and its TF.js conversion give identical activations in every layer', needsFixtures, async () => {
  const dir = '08_xfmt_keras2h5_tfjs';
  await sameActivations(fixture(dir, 'digit-recognizer-model.h5'), fixture(dir, 'model', 'model.json'), [null as never, 28, 28, 1]);
});

test('fixture 09: Keras 3 legacy h5 and .keras give identical activations in every layer', needsFixtures, async () => {
  const dir = '09_xfmt_keras3_h5_keras';
  await sameActivations(fixture(dir, 'mnist_cnn.h5'), fixture(dir, 'mnist_cnn.keras'), [null as never, 28, 28, 1]);
});

test('fixture 06: tf.keras 2.2.4 models with DepthwiseConv2D, SeparableConv2D, Conv2DTranspose, cropping, upsampling and SpatialDropout2D run in both data formats', needsFixtures, async () => {
  for (const name of ['cnn2d_40', 'cnn2d_52', 'cnn2d_64', 'cnn2d_76']) {
    const model = await openModel(fixture('06_dl4j_tfkeras_structure', `${name}.h5`));
    try {
      const net = await buildModel(model);
      try {
        const input = randomInput(net.inputShapes[0]!.map((d) => d ?? 1));
        const layers: Activation[] = [];
        await runLayers(net, [input], { want: () => true, onActivation: (a) => void layers.push(a) });
        assert.equal(layers.length, net.graph.nodes.length, name);
        for (const a of layers) assert.ok(a.data.every(Number.isFinite), `${name}/${a.name}`);
      } finally {
        net.dispose();
      }
    } finally {
      model.close();
    }
  }
});

/**
 * Each DepthwiseConv2D, SeparableConv2D and Conv2DTranspose layer of fixture 06, re-computed in PyTorch
 * (float64) from the weights h5py reads and the layer's config, on the activation convscope gave its
 * inbound layer. Keras semantics written out here: 'same' pads total//2 before (TensorFlow's rule), the
 * depthwise output channel is in * mult + m, the transposed conv is the gradient of that padded conv.
 */
const FIXTURE_06_ORACLE = `
import json, sys, h5py, numpy as np, torch
import torch.nn.functional as F
torch.set_default_dtype(torch.float64)
path, folder = sys.argv[1], sys.argv[2]
f = h5py.File(path, 'r')
layers = json.loads(f.attrs['model_config'])['config']['layers']
load = lambda name: torch.from_numpy(np.load(folder + '/' + name + '.npy').astype(np.float64))
act = {'tanh': torch.tanh, 'relu': torch.relu, 'linear': lambda t: t}
def same(size, k, s, d):
    kd = (k - 1) * d + 1
    out = -(-size // s)
    total = max((out - 1) * s + kd - size, 0)
    return out, total // 2, total - total // 2
kinds = {l['config']['name']: l['class_name'] for l in layers}
result = {}
for layer in layers:
    kind, c = layer['class_name'], layer['config']
    if kind not in ('DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'):
        continue
    name = c['name']
    inbound = layer['inbound_nodes'][0][0][0]
    x = load('input' if kinds[inbound] == 'InputLayer' else inbound)
    first = c['data_format'] == 'channels_first'
    if not first:
        x = x.permute(0, 3, 1, 2)
    w = lambda n: torch.from_numpy(f['model_weights'][name][name][n + ':0'][()].astype(np.float64))
    (kh, kw), s, d = c['kernel_size'], c['strides'], c['dilation_rate']
    if kind == 'Conv2DTranspose':
        assert c['output_padding'] is None and d == [1, 1]
        y = F.conv_transpose2d(x, w('kernel').permute(3, 2, 0, 1), stride=s)
        if c['padding'] == 'same':
            oh, ow = x.shape[2] * s[0], x.shape[3] * s[1]
            top, left = same(oh, kh, s[0], 1)[1], same(ow, kw, s[1], 1)[1]
            y = y[:, :, top:top + oh, left:left + ow]
        y = y + w('bias').reshape(1, -1, 1, 1)
    else:
        if c['padding'] == 'same':
            (_, t, b), (_, l, r) = same(x.shape[2], kh, s[0], d[0]), same(x.shape[3], kw, s[1], d[1])
            x = F.pad(x, (l, r, t, b))
        k = w('depthwise_kernel')
        cin, mult = k.shape[2], k.shape[3]
        y = F.conv2d(x, k.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw), stride=s, dilation=d, groups=cin)
        if kind == 'SeparableConv2D':
            y = F.conv2d(y, w('pointwise_kernel').permute(3, 2, 0, 1))
        y = y + w('bias').reshape(1, -1, 1, 1)
    y = act[c['activation']](y)
    if not first:
        y = y.permute(0, 2, 3, 1)
    ours = load(name)
    assert tuple(ours.shape) == tuple(y.shape), (name, tuple(ours.shape), tuple(y.shape))
    result[name] = {'kind': kind, 'format': c['data_format'], 'relative': float((ours - y).abs().max() / y.abs().max())}
print(json.dumps(result))
`;

test(
  'fixture 06: every DepthwiseConv2D, SeparableConv2D and Conv2DTranspose layer matches a PyTorch re-computation from its h5py weights within 1e-4 relative',
  { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('numpy', 'h5py', 'torch')) },
  async () => {
    const folder = mkdtempSync(join(tmpdir(), 'convscope-fixture06-'));
    try {
      const seen: Record<string, string> = {};
      for (const name of ['cnn2d_40', 'cnn2d_52', 'cnn2d_76']) {
        const path = fixture('06_dl4j_tfkeras_structure', `${name}.h5`);
        const model = await openModel(path);
        const out = join(folder, name);
        try {
          const net = await buildModel(model);
          try {
            const input = randomInput(net.inputShapes[0]!.map((d) => d ?? 1));
            const layers: Activation[] = [];
            await runLayers(net, [input], { want: () => true, onActivation: (a) => void layers.push(a) });
            mkdirSync(out);
            writeFileSync(join(out, 'input.npy'), encodeNpy(input.data, input.shape));
            for (const a of layers) writeFileSync(join(out, `${a.name}.npy`), encodeNpy(a.data, a.shape));
          } finally {
            net.dispose();
          }
        } finally {
          model.close();
        }
        const report = JSON.parse(runPython(FIXTURE_06_ORACLE, [path, out])) as Record<string, { kind: string; format: string; relative: number }>;
        assert.equal(Object.keys(report).length, 2, `${name}: two checked layers`);
        for (const [layer, r] of Object.entries(report)) {
          assert.ok(r.relative <= 1e-4, `${name}/${layer} (${r.kind}, ${r.format}): max error ${r.relative} of the largest value`);
          seen[`${r.kind} ${r.format}`] = layer;
        }
      }
      assert.deepEqual(Object.keys(seen).sort(), ['Conv2DTranspose channels_first', 'DepthwiseConv2D channels_first', 'SeparableConv2D channels_last']);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  },
);
