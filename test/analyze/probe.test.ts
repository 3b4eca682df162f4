import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/compute/backend.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { probeLayer } from '../../src/analyze/probe.js';
import { trainModel } from '../../src/compute/train.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';

/** A small digits CNN; `conv_2` is the probed layer. */
function digitsCnn(): tfl.Sequential {
  const m = tfl.sequential({ name: 'digits_cnn' });
  m.add(tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 1], name: 'conv_1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
  m.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  m.add(tfl.layers.flatten({ name: 'flatten' }));
  m.add(tfl.layers.dense({ units: 10, activation: 'softmax', name: 'dense', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
  return m;
}

describe('probe: do trained conv features help a random forest?', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-probe-'));
  let data: Dataset;

  before(async () => {
    await initBackend();
    data = await loadDataset('digits', { seed: 0 });
    const net = digitsCnn();
    await trainModel(net, data, { epochs: 6, batchSize: 32, learningRate: 0.01, optimizer: 'adam', scale: 'unit' });
    await saveCheckpoint(net, dir);
    net.dispose();
  });

  it('trained features beat untrained features on the digits by at least 5 points', async () => {
    const model = await openModel(join(dir, 'model.json'));
    try {
      const r = await probeLayer(model, data, { layer: 'conv_2', features: 'gap', classifier: 'random-forest', preset: 'unit', trees: 60 });
      console.log(`digits, conv_2 GAP, random forest: raw ${r.accuracy.rawPixels.toFixed(4)}, untrained ${r.accuracy.untrained.toFixed(4)}, trained ${r.accuracy.trained.toFixed(4)}`);
      assert.equal(r.trainCount + r.testCount, 1797);
      assert.equal(r.featureDim, 32);
      assert.ok(r.accuracy.trained >= r.accuracy.untrained + 0.05, JSON.stringify(r.accuracy));
      assert.ok(r.accuracy.trained > 0.9, JSON.stringify(r.accuracy));
    } finally {
      model.close();
    }
  });

  it('the CLI prints the three accuracies and exports features with labels', async () => {
    const out = join(dir, 'feat.npy');
    const r = await runCli(['probe', join(dir, 'model.json'), '--layer', 'conv_2', '--data', 'digits', '--classifier', 'logistic', '--export', out], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /probe of layer conv_2 on digits: 1438 train \/ 359 test images, gap features \(32 per image\), logistic regression/);
    assert.match(r.stdout, /raw pixels\s+\d+\.\d%/);
    assert.match(r.stdout, /conv_2, untrained \(re-initialized, seed 0\)\s+\d+\.\d%/);
    assert.ok(existsSync(join(dir, 'feat.labels.npy')));
    const features = decodeNpy(new Uint8Array(await (await import('node:fs/promises')).readFile(out)));
    assert.deepEqual(features.shape, [1797, 32]);
  });

  it('names close layers when the layer does not exist', async () => {
    const r = await runCli(['probe', join(dir, 'model.json'), '--layer', 'conv2', '--data', 'digits']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no layer 'conv2'\. Did you mean 'conv_2'/);
  });
});
