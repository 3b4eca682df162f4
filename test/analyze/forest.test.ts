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

  it('matches scikit-learn accuracy on the digits within 0.5 points in each of 3 splits', needsPython('sklearn', 'numpy'), async () => {
    const seeds = [0, 1, 2];
    const dir = mkdtempSync(join(tmpdir(), 'convscope-forest-'));
    const splits = await Promise.all(seeds.map((seed) => loadDataset('digits', { seed })));
    splits.forEach((data, seed) => {
      const files = { xtr: data.train.images, ytr: data.train.labels, xte: data.test.images, yte: data.test.labels };
      for (const [name, values] of Object.entries(files)) {
        writeFileSync(join(dir, `${name}-${seed}.npy`), encodeNpy(values, name.startsWith('x') ? [values.length / 64, 64] : [values.length]));
      }
    });
    const sklearn = runPython(
      [
        'import sys, numpy as np',
        'from sklearn.ensemble import RandomForestClassifier',
        'd = sys.argv[1]; L = lambda n, s: np.load(f"{d}/{n}-{s}.npy")',
        `for s in ${JSON.stringify(seeds)}:`,
        '    m = RandomForestClassifier(n_estimators=100, random_state=s).fit(L("xtr", s), L("ytr", s))',
        '    print((m.predict(L("xte", s)) == L("yte", s)).mean())',
      ].join('\n'),
      [dir],
    )
      .trim()
      .split('\n')
      .map(Number);
    splits.forEach((data, seed) => {
      const started = performance.now();
      const forest = new RandomForest({ trees: 100, seed }).fit(toFloat(data.train.images), data.train.labels, 10);
      const ours = accuracy(forest.predict(toFloat(data.test.images)), data.test.labels);
      const ms = performance.now() - started;
      console.log(`digits split ${seed}: convscope forest ${ours.toFixed(4)} in ${ms.toFixed(0)} ms, scikit-learn ${sklearn[seed]!.toFixed(4)}`);
      assert.ok(sklearn[seed]! > 0.9, `sklearn accuracy ${sklearn[seed]}`);
      assert.ok(ours >= sklearn[seed]! - 0.005, `split ${seed}: convscope ${ours} vs sklearn ${sklearn[seed]}`);
    });
  });

  it('returns class probabilities that sum to 1 per row', async () => {
    const data = await loadDataset('digits', { seed: 0 });
    const p = new RandomForest({ trees: 7, seed: 3 }).fit(toFloat(data.train.images), data.train.labels, 10).predictProba(toFloat(data.test.images));
    for (let i = 0; i < data.test.count; i++) {
      let sum = 0;
      for (let c = 0; c < 10; c++) sum += p[i * 10 + c]!;
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} sums to ${sum}`);
    }
  });
});
