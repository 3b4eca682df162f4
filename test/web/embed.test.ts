import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/model/errors.js';
import { memoryModel } from '../../src/model/memory-model.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { embedModel, restoreModel } from '../../src/web/embed.js';
import { layerRows } from '../../src/views/model-view.js';

const kernel = new NamedTensor(['out', 'in', 'kh', 'kw'], [4, 2, 3, 3], Float32Array.from({ length: 72 }, (_, i) => Math.sin(i) * 0.1));
const dense = new NamedTensor(['units', 'in'], [10, 300], Float32Array.from({ length: 3000 }, (_, i) => Math.cos(i)));
const model = memoryModel({
  source: 'net.safetensors',
  format: 'safetensors',
  framework: 'pytorch',
  layers: [
    { name: 'features.0', className: 'torch:conv', kind: 'conv', weights: [{ role: 'kernel', name: 'features.0.weight', tensor: kernel }] },
    { name: 'classifier', className: 'torch:linear', kind: 'dense', weights: [{ role: 'kernel', name: 'classifier.weight', tensor: dense }] },
  ],
});

describe('report embedding', () => {
  it('restores every embedded weight bit for bit, through JSON as the report stores it', async () => {
    const restored = restoreModel(JSON.parse(JSON.stringify(await embedModel(model))));
    assert.deepEqual(layerRows(restored), layerRows(model));
    for (const [i, layer] of model.layers.entries()) {
      const before = await layer.weights[0]!.read();
      const after = await restored.layers[i]!.weights[0]!.read();
      assert.deepEqual(after.axes, before.axes);
      assert.deepEqual(after.shape, before.shape);
      assert.deepEqual(after.data, before.data);
    }
  });

  it('describes weights over the limit but leaves them out, with a note and a sentence on read', async () => {
    const embedded = await embedModel(model, new Map(), 1000);
    assert.equal(embedded.layers[0]!.weights[0]!.npy !== undefined, true);
    assert.equal(embedded.layers[1]!.weights[0]!.npy, undefined);
    assert.match(embedded.notes.at(-1)!, /^Left out of this report \(each over 1000 B; see convscope report --max-weight-mb\): classifier\/kernel \(11\.7 KiB\)\.$/);
    const restored = restoreModel(embedded);
    assert.deepEqual(layerRows(restored), layerRows(model));
    await assert.rejects(restored.layers[1]!.weights[0]!.read(), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^Weight 'kernel' of layer 'classifier' was left out of this report because of its size/);
      return true;
    });
  });
});
