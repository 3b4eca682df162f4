import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadTrainable } from '../../src/compute/trainable.js';
import { openModel } from '../../src/formats/open.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

// `convscope train` builds its network from the model's one parsed call graph (model/graph.ts), with
// each layer as stored: initialisers, regularisers and dropout, and the file's weights copied in.
describe('the training build comes from the call graph, with training semantics', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-trainable-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an architecture JSON: the stored initialiser, regulariser and dropout are the network's", async () => {
    const path = join(dir, 'arch.json');
    const layers = [
      { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 6, 6, 1], dtype: 'float32' } },
      {
        class_name: 'Conv2D',
        config: { name: 'conv', filters: 2, kernel_size: [3, 3], activation: 'relu', kernel_initializer: { class_name: 'Constant', config: { value: 0.5 } }, kernel_regularizer: { class_name: 'L1L2', config: { l1: 0, l2: 0.01 } } },
      },
      { class_name: 'Dropout', config: { name: 'drop', rate: 0.25 } },
      { class_name: 'Flatten', config: { name: 'flat' } },
      { class_name: 'Dense', config: { name: 'fc', units: 3 } },
    ];
    writeFileSync(path, JSON.stringify({ class_name: 'Sequential', config: { name: 'm', layers }, keras_version: '2.15.0' }));
    const { model, notes } = await loadTrainable(path);
    try {
      assert.deepEqual(notes, []);
      const kernel = model.getLayer('conv').getWeights()[0]!;
      assert.deepEqual([...new Set(kernel.dataSync())], [0.5], 'the Constant(0.5) initialiser, not zeros');
      assert.deepEqual((model.getLayer('conv').getConfig().kernelRegularizer as { config: { l2: number } }).config.l2, 0.01);
      assert.equal(model.getLayer('drop').getClassName(), 'Dropout');
      assert.equal(model.getLayer('drop').getConfig().rate, 0.25);
    } finally {
      model.dispose();
    }
  });

  it('a Keras 3 .keras file (whose JSON tfjs-layers cannot read itself) trains its training build with the stored weights, no fallback', needsFixtures, async () => {
    const path = fixture('09_xfmt_keras3_h5_keras', 'mnist_cnn.keras');
    const { model: net, notes } = await loadTrainable(path);
    const stored = await openModel(path);
    try {
      assert.deepEqual(notes, []);
      let compared = 0;
      for (const layer of stored.layers) {
        for (const weight of layer.weights) {
          const variable = net.getLayer(layer.name).weights.find((w) => w.originalName.endsWith(`/${weight.role}`))!;
          assert.ok(variable, `${layer.name}/${weight.role}`);
          assert.deepEqual(Array.from(variable.read().dataSync()), Array.from((await weight.read()).toFloat32()), `${layer.name}/${weight.role} equals the file's`);
          compared++;
        }
      }
      assert.equal(compared, 8, 'two conv and two dense layers, kernel and bias each');
    } finally {
      stored.close();
      net.dispose();
    }
  });
});
