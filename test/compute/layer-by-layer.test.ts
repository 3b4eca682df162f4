import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runLayers, type Activation } from '../../src/compute/activations.js';
import { buildModel, layerByLayer } from '../../src/compute/build.js';
import { openModel } from '../../src/formats/open.js';
import { encodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython } from '../helpers/python.js';
import { values } from '../helpers/keras-writers.js';
import { numpyForward, writeWideDenseH5 } from '../helpers/wide-dense-h5.js';

function close(actual: ArrayLike<number>, expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance * (1 + Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('a network built layer by layer (one layer’s weights at a time)', { skip: needsPython('h5py', 'numpy').skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-layer-by-layer-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('computes what NumPy computes, the 64 MiB Dense layer on the cpu backend included (relative 1e-4)', async () => {
    const file = join(dir, 'wide.h5');
    writeWideDenseH5(file, 2048);
    const x = values(32 * 32 * 3, 7);
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x, [1, 32, 32, 3]));
    const expected = numpyForward(file, join(dir, 'x.npy'));
    const model = await openModel(file);
    try {
      const seen: Activation[] = [];
      const [out] = await runLayers(await layerByLayer(model), [{ shape: [1, 32, 32, 3], data: x }], { want: (n) => n.layer.name === 'wide', onActivation: (a) => void seen.push(a) });
      close(seen[0]!.data.subarray(0, 16), expected.wide, 1e-4, 'wide');
      close(out!.data, expected.out, 1e-4, 'out');
    } finally {
      model.close();
    }
  });

  it('gives the outputs the whole built network gives on Theano, separable, batch-norm, Keras 1 and Keras 3 files', { skip: needsFixtures.skip }, async () => {
    for (const file of [
      fixture('05_dl4j_weight_layout', 'conv2d_theano_2.h5'),
      fixture('05_dl4j_weight_layout', 'sepconv2d_tensorflow_2.h5'),
      fixture('03_dl4j_cnn_batchnorm', 'cnn_batch_norm.h5'),
      fixture('04_dl4j_keras1_cnn', 'cnn_tf_model.h5'),
      fixture('09_xfmt_keras3_h5_keras', 'mnist_cnn.keras'),
    ]) {
      const model = await openModel(file);
      const net = await buildModel(model);
      try {
        const inputs = net.inputShapes.map((s, k) => {
          const shape = s.map((d, i) => (i === 0 ? 1 : (d ?? 8)));
          return { shape, data: values(shape.reduce((a, b) => a * b, 1), 11 + k) };
        });
        const whole = await runLayers(net, inputs);
        const alone = await runLayers(await layerByLayer(model), inputs);
        whole.forEach((o, i) => close(alone[i]!.data, Array.from(o.data), 1e-6, file));
      } finally {
        net.dispose();
        model.close();
      }
    }
  });

  it('gives every layer output the whole built network gives, on the Teachable Machine MobileNet', { skip: needsFixtures.skip }, async () => {
    const model = await openModel(fixture('11_tfjs_teachable_machine', 'model.json'));
    try {
      const input = { shape: [1, 224, 224, 3], data: values(224 * 224 * 3, 3) };
      const whole = new Map<string, Float32Array>();
      const net = await buildModel(model);
      try {
        await runLayers(net, [input], { want: () => true, onActivation: (a) => void whole.set(a.name, a.data) });
      } finally {
        net.dispose();
      }
      let compared = 0;
      await runLayers(await layerByLayer(model), [input], {
        want: () => true,
        onActivation: (a) => {
          close(a.data, Array.from(whole.get(a.name)!), 1e-5, a.name);
          compared++;
        },
      });
      assert.equal(compared, whole.size);
    } finally {
      model.close();
    }
  });
});
