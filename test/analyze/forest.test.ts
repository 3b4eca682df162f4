import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accuracy, RandomForest } from '../../src/analyze/forest.js';
import { loadDataset } from '../../src/data/index.js';
import { encodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

function toFloat(images: Uint8Array): Float32Array {
  return Float32Array.from(images);
}

describe('RandomForest', () => {
  it('separates two obvious clusters perfectly', () => {
    const x = new Float32Array([0, 0, 0.1, 0.2, 0.2, 0.1, 5, 5, 5.1, 4.9, 4.8, 5.2]);
    const y = [0, 0, 0, 1, 1, 1];
    const forest = new RandomForest({ trees: 10, seed: 1 }).fit(x, y, 2);
    assert.deepEqual(Array.from(forest.predict(new Float32Array([0.05, 0.1, 5, 5.05]))), [0, 1]);
  });

  it('is deterministic for a seed', async () => {
    const data = await loadDataset('digits', { seed: 0 });
    const x = toFloat(data.train.images);
    const a = new RandomForest({ trees: 5, seed: 7 }).fit(x, data.train.labels, 10).predictProba(toFloat(data.test.images));
    const b = new RandomForest({ trees: 5, seed: 7 }).fit(x, data.train.labels, 10).predictProba(toFloat(data.test.images));
    assert.deepEqual(a, b);
  });

  it('matches scikit-learn accuracy on the digits within 2 points', needsPython('sklearn', 'numpy'), async () => {
    const data = await loadDataset('digits', { seed: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'convscope-forest-'));
    const files = { xtr: data.train.images, ytr: data.train.labels, xte: data.test.images, yte: data.test.labels };
    for (const [name, values] of Object.entries(files)) writeFileSync(join(dir, `${name}.npy`), encodeNpy(values, name.startsWith('x') ? [values.length / 64, 64] : [values.length]));
    const sklearn = Number(
      runPython(
        [
          'import sys, numpy as np',
          'from sklearn.ensemble import RandomForestClassifier',
          'd = sys.argv[1]; L = lambda n: np.load(f"{d}/{n}.npy")',
          'm = RandomForestClassifier(n_estimators=100, random_state=0).fit(L("xtr"), L("ytr"))',
          'print((m.predict(L("xte")) == L("yte")).mean())',
        ].join('\n'),
        [dir],
      ),
    );
    const started = performance.now();
    const forest = new RandomForest({ trees: 100, seed: 0 }).fit(toFloat(data.train.images), data.train.labels, 10);
    const ours = accuracy(forest.predict(toFloat(data.test.images)), data.test.labels);
    const ms = performance.now() - started;
    console.log(`digits raw pixels: convscope forest ${ours.toFixed(4)} in ${ms.toFixed(0)} ms, scikit-learn ${sklearn.toFixed(4)}`);
    assert.ok(sklearn > 0.9, `sklearn accuracy ${sklearn}`);
    assert.ok(ours >= sklearn - 0.02, `convscope ${ours} vs sklearn ${sklearn}`);
  });
});
