import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/model/errors.js';
import { memoryModel } from '../../src/formats/memory.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { embedModel, restoreModel } from '../../src/web/embed.js';
import { layerRows } from '../../src/views/model-view.js';
import { needsPython, runPython } from '../helpers/python.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
    const embedded = await embedModel(model, new Map(), { maxWeightBytes: 1000 });
    assert.equal(embedded.layers[0]!.weights[0]!.npy !== undefined, true);
    assert.equal(embedded.layers[1]!.weights[0]!.npy, undefined);
    const left = embedded.notes.at(-1)!;
    assert.match(left.text, /^Left out of this report \(each over 1000 B, the report's weight size limit\), shown as a picture and histograms only: classifier\/kernel \(11\.7 KiB\)\.$/);
    assert.equal(left.concept, 'weight-limit', 'the note points to the setting; each surface names its control');
    const restored = restoreModel(embedded);
    assert.deepEqual(layerRows(restored), layerRows(model));
    await assert.rejects(restored.layers[1]!.weights[0]!.read(), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^Weight 'kernel' of layer 'classifier' was left out of this report because of its size/);
      return true;
    });
  });

  it('stores big float32 weights in half precision, rounded as NumPy rounds to float16, and says so', needsPython('numpy'), async () => {
    const embedded = await embedModel(model, new Map(), { halfAbove: 1000 });
    assert.equal(embedded.layers[0]!.weights[0]!.stored, undefined);
    assert.equal(embedded.layers[1]!.weights[0]!.stored, 'float16');
    assert.match(embedded.notes.at(-1)!.text, /^Stored in half precision to keep this report small .*: classifier\/kernel\.$/);
    const halved = await restoreModel(JSON.parse(JSON.stringify(embedded))).layers[1]!.weights[0]!.read();
    const dir = mkdtempSync(join(tmpdir(), 'convscope-embed-'));
    writeFileSync(join(dir, 'w.npy'), dense.toNpy());
    writeFileSync(join(dir, 'h.npy'), halved.toNpy());
    const same = runPython('import sys, numpy as np\nw = np.load(sys.argv[1]).astype(np.float16).astype(np.float32)\nprint(np.array_equal(w, np.load(sys.argv[2])))', [join(dir, 'w.npy'), join(dir, 'h.npy')]);
    assert.equal(same.trim(), 'True', 'every value equals NumPy float32 -> float16 -> float32');
    const left = await embedModel(model, new Map(), { maxWeightBytes: 1000 });
    assert.match(left.layers[1]!.picture!, /^data:image\/png;base64,/);
    assert.equal(left.layers[1]!.histograms![0]!.counts.reduce((a, b) => a + b, 0), 3000);
  });
});
