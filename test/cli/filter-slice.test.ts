import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

// `weights --filter j` and tile j of `filters` are one slice: the same index expression, and values that
// the framework's own indexing (NumPy on the stored arrays, read by h5py or from the TF.js weights file)
// reproduces when it evaluates the very expression convscope printed.
const dir = mkdtempSync(join(tmpdir(), 'convscope-filter-slice-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the stored array (h5py for Keras h5, the weights manifest for TF.js), evaluates `expression` on it, prints it and the .npy. */
const EVALUATE = `
import sys, json, numpy as np
kind, path, name, variable, expression, npy = sys.argv[1:7]
if kind == 'h5':
    import h5py
    with h5py.File(path, 'r') as f:
        stored = f[name][()]
else:
    model = json.load(open(path))
    offset = 0
    for group in model['weightsManifest']:
        blob = b''.join(open(path.rsplit('/', 1)[0] + '/' + p, 'rb').read() for p in group['paths'])
        for w in group['weights']:
            n = int(np.prod(w['shape']))
            if w['name'] == name:
                stored = np.frombuffer(blob, dtype=np.float32, count=n, offset=offset).reshape(w['shape'])
            offset += 4 * n
        offset = 0
value = eval(expression, {variable: stored})
got = np.load(npy)
print(json.dumps({'expected': np.asarray(value).ravel().tolist(), 'shape': list(np.shape(value)), 'got': got.ravel().tolist(), 'gotShape': list(got.shape)}))
`;

const CASES = [
  {
    name: 'fixture 11 (TF.js) depthwise layer',
    kind: 'tfjs',
    model: fixture('11_tfjs_teachable_machine', 'model.json'),
    layer: 'expanded_conv_depthwise',
    stored: 'expanded_conv_depthwise/depthwise_kernel',
    expression: 'depthwise_kernel[:, :, 3, 0]',
    rule: "filter j = c * mult + m, along 'in' and 'mult'",
  },
  {
    name: 'fixture 08 (Keras h5) Dense layer',
    kind: 'h5',
    model: fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'),
    layer: 'dense_2',
    stored: 'model_weights/dense_2/dense_2/kernel:0',
    expression: 'kernel[:, 3]',
    rule: "filter j along 'units'",
  },
];

describe('weights --filter 3 is tile 3 of filters', { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('numpy', 'h5py')) }, () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const npy = join(dir, `${c.layer}.npy`);
      const w = await runCli(['weights', c.model, '--layer', c.layer, '--filter', '3', '--out', npy]);
      assert.equal(w.code, 0, w.stderr);
      const f = await runCli(['filters', c.model, '--layer', c.layer, '--filters', '3', '--out', join(dir, `${c.layer}.png`)]);
      assert.equal(f.code, 0, f.stderr);
      const weightsLine = new RegExp(`^filter 3 of ${c.layer}: shape \\(.*\\) \\[.*\\] = (\\S+(?:, \\S+)*\\]) in `, 'm').exec(w.stdout);
      const filtersLine = /^filter 3 is (.*) \((.*)\)$/m.exec(f.stdout);
      assert.ok(weightsLine, w.stdout);
      assert.ok(filtersLine, f.stdout);
      assert.equal(weightsLine[1], c.expression);
      assert.equal(filtersLine[1], c.expression, 'filters prints the expression weights prints');
      assert.equal(filtersLine[2], c.rule);
      const variable = c.expression.slice(0, c.expression.indexOf('['));
      const r = JSON.parse(runPython(EVALUATE, [c.kind, c.model, c.stored, variable, c.expression, npy])) as Record<string, number[]>;
      assert.deepEqual(r.gotShape, r.shape);
      assert.deepEqual(r.got, r.expected);
    });
  }
});
