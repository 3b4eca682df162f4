import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runLayers, type Activation, type InputBatch } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { fileSource } from '../../src/io/node-source.js';
import { openHdf5 } from '../../src/io/hdf5.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

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
      const inputs = h5.keys('inputs').map((k) => {
        const d = h5.dataset(`inputs/${k}`, k);
        return { shape: [...d.shape], data: Float32Array.from(h5.read(d) as Float32Array) };
      });
      const { layers } = await run(fixture(dir, `${name}_model.h5`), inputs);
      const stored = h5.keys('activations');
      assert.ok(stored.length > 0);
      for (const layer of stored) {
        const d = h5.dataset(`activations/${layer}`, layer);
        const ours = layers.find((a) => a.name === layer);
        assert.ok(ours, `no activation for ${layer}`);
        assert.deepEqual(ours.shape, d.shape);
        assert.ok(maxError(ours.data, h5.read(d) as Float32Array) <= TOLERANCE, layer);
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
