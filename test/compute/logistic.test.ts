import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accuracy } from '../../src/analyze/forest.js';
import { fitLogistic } from '../../src/compute/logistic.js';
import { loadDataset } from '../../src/data/index.js';
import { encodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

describe('logistic probe', () => {
  it("is within 2 points of scikit-learn's LogisticRegression (StandardScaler, default C) on the digits", needsPython('sklearn', 'numpy'), async () => {
    const data = await loadDataset('digits', { seed: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'convscope-logistic-'));
    try {
      const files = { xtr: data.train.images, ytr: data.train.labels, xte: data.test.images, yte: data.test.labels };
      for (const [name, values] of Object.entries(files)) {
        writeFileSync(join(dir, `${name}.npy`), encodeNpy(values, name.startsWith('x') ? [values.length / 64, 64] : [values.length]));
      }
      const sklearn = Number(
        runPython(
          [
            'import sys, numpy as np',
            'from sklearn.linear_model import LogisticRegression',
            'from sklearn.preprocessing import StandardScaler',
            'L = lambda n: np.load(f"{sys.argv[1]}/{n}.npy")',
            's = StandardScaler().fit(L("xtr").astype(np.float64))',
            'm = LogisticRegression(max_iter=2000).fit(s.transform(L("xtr").astype(np.float64)), L("ytr"))',
            'print((m.predict(s.transform(L("xte").astype(np.float64))) == L("yte")).mean())',
          ].join('\n'),
          [dir],
        ).trim(),
      );
      const model = await fitLogistic(Float32Array.from(data.train.images), data.train.labels, 10);
      const ours = accuracy(await model.predict(Float32Array.from(data.test.images)), data.test.labels);
      model.dispose();
      console.log(`digits raw pixels, logistic regression: convscope ${ours}, scikit-learn ${sklearn}`);
      assert.ok(sklearn > 0.9, `scikit-learn's own accuracy ${sklearn}`);
      assert.ok(Math.abs(ours - sklearn) <= 0.02, `convscope ${ours} vs scikit-learn ${sklearn}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
