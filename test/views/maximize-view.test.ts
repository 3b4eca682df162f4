import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { runLayers } from '../../src/compute/activations.js';
import { maximize } from '../../src/compute/maximize.js';
import { maximizeView } from '../../src/views/detects-view.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

/**
 * A dead unit explained: one 3x3 conv + ReLU on 8x8 grey images in 0..1 whose filter 0 has every
 * weight -1 and bias -1, so its pre-activation is at most -1 for every input the optimiser can reach
 * and the ReLU output is 0 (by construction, the oracle); filter 1 (weights +1, bias 0) is alive.
 * The shared view's notes (viewer, report) and the CLI's output must name filter 0, and only it.
 */
describe('maximize: filters that never activate are named, with why', () => {
  let dir: string;
  let model: Model;
  let net: RunnableModel;
  before(async () => {
    await initBackend();
    dir = mkdtempSync(join(tmpdir(), 'convscope-dead-'));
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu', name: 'conv' }));
    const kernel = tf.tensor4d(Array.from({ length: 9 * 2 }, (_, i) => (i % 2 === 0 ? -1 : 1)), [3, 3, 1, 2]);
    const bias = tf.tensor1d([-1, 0]);
    m.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
    await saveCheckpoint(m, dir);
    m.dispose();
    model = await openModel(join(dir, 'model.json'));
    net = await buildModel(model);
  });
  after(() => {
    net.dispose();
    model.close();
  });

  const sentence = /^Filter 0 ended at objective 0, so its image stays the near-grey starting image: the unit never activated for any image the optimiser reached, nor for stronger random starts, so its gradient stayed 0 \(e\.g\. a dead ReLU, whose input is never positive\)\.$/m;

  it('the view (viewer and report) says it under the figure', async () => {
    const view = await maximizeView(net, { layer: 'conv', filters: [0, 1], objective: 'channel', steps: 8, seed: 0, preprocessing: { preset: 'unit' } }, () => {});
    assert.match(view.lines.join('\n'), sentence);
    assert.equal(view.lines.filter((l) => /ended at objective 0/.test(l)).length, 1, view.lines.join('\n'));
    // Filter 1 responds to the near-grey start; filter 0 responds to no start: neither was started again.
    assert.equal(view.lines.filter((l) => /started from/.test(l)).length, 0, view.lines.join('\n'));
  });

  it('the CLI prints it', async () => {
    const r = await runCli(['maximize', join(dir, 'model.json'), '--layer', 'conv', '--filters', '0-1', '--steps', '8', '--out', join(dir, 'conv.png')], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, sentence);
    assert.doesNotMatch(r.stdout, /Filters 0, 1/);
  });
});

/**
 * An MNIST network (fixture 09, trained by Keras on black digits with white strokes): at the near-grey
 * start no unit of conv2d_7 responds (its ReLUs are all off there: objective and gradient 0), so before
 * restarts every image stayed grey. Each filter starts again from a stronger random image and rises;
 * the final objectives are checked on TensorFlow.js (the gradient ran on ONNX Runtime) for the images made.
 */
describe('maximize: a filter the near-grey start does not activate starts again from a stronger random image', needsFixtures, () => {
  it('fixture 09 conv2d_7: the filters dead at the start restart and end above 0 (all ended at 0 before); every final objective equals the layer mean TensorFlow.js computes', async () => {
    await initBackend();
    const model = await openModel(fixture('09_xfmt_keras3_h5_keras', 'mnist_cnn.keras'));
    const net = await buildModel(model);
    try {
      const filters = [0, 1, 2, 3];
      const r = await maximize(net, { layer: 'conv2d_7', filters, steps: 16, seed: 0 });
      assert.ok(r.restarted.length > 0 && r.restarted.every((f) => filters.includes(f)), `restarted ${r.restarted.join(', ')}`);
      // Before restarts, every one of them ended at 0 with a grey image; a restarted one now ends above 0.
      for (const f of r.restarted) assert.ok(r.final[filters.indexOf(f)]! > 0, `filter ${f} restarted but ended at ${r.final[filters.indexOf(f)]}`);
      let seen: Float32Array | undefined;
      let shape: readonly number[] = [];
      await runLayers(net, [{ shape: [filters.length, 28, 28, 1], data: r.images }], {
        want: (n) => n.layer.name === 'conv2d_7',
        onActivation: (a) => {
          seen = Float32Array.from(a.data);
          shape = a.shape;
        },
      });
      const [, hh, ww, cc] = shape as [number, number, number, number];
      filters.forEach((f, i) => {
        let sum = 0;
        for (let p = 0; p < hh * ww; p++) sum += seen![(i * hh * ww + p) * cc + f]!;
        const mean = sum / (hh * ww);
        assert.ok(Math.abs(mean - r.final[i]!) <= 1e-4 * (1 + Math.abs(mean)), `filter ${f}: TensorFlow.js ${mean}, maximize ${r.final[i]}`);
      });
    } finally {
      net.dispose();
      model.close();
    }
  });
});
