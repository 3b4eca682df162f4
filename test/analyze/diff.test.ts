import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { diffModels, diffToJson } from '../../src/analyze/diff.js';
import { memoryModel, type MemoryLayerSpec } from '../../src/formats/memory.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { needsPython, runPython } from '../helpers/python.js';

/** Deterministic pseudo-random values (LCG), so the test data is the same on every run. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return out;
}

function conv(name: string, data: Float32Array, extra: Partial<MemoryLayerSpec> = {}): MemoryLayerSpec {
  return {
    name,
    className: 'Conv2D',
    kind: 'conv',
    weights: [
      { role: 'kernel', tensor: new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], data) },
      { role: 'bias', tensor: new NamedTensor(['features'], [4], new Float32Array(4)) },
    ],
    ...extra,
  };
}

const N = 3 * 3 * 2 * 4;
const base = [values(N, 1), values(N, 2), values(N, 3), values(N, 4), values(N, 5)];

function model(source: string, layers: MemoryLayerSpec[]) {
  return memoryModel({ source, format: 'safetensors', framework: 'keras', layers });
}

describe('diffModels with injected changes', () => {
  const scaled = base[1]!.map((v) => v * (1 + 1e-6));
  const delta = base[2]!.slice();
  delta[7] = delta[7]! + 0.5;
  const withNan = base[3]!.slice();
  withNan[0] = NaN;
  const before = model('before', [conv('untouched', base[0]!), conv('scaled', base[1]!), conv('delta', base[2]!), conv('nan', base[3]!), conv('conv_5', base[4]!)]);
  const after = model('after', [conv('untouched', base[0]!), conv('scaled', scaled), conv('delta', delta), conv('nan', withNan), conv('renamed_conv', base[4]!)]);

  it('gives every number and verdict', async () => {
    const diff = await diffModels(before, after);
    const byName = new Map(diff.layers.map((l) => [l.name, l]));
    assert.deepEqual([...byName.keys()], ['untouched', 'scaled', 'delta', 'nan', 'conv_5']);

    const untouched = byName.get('untouched')!;
    assert.equal(untouched.verdict, 'unchanged');
    assert.equal(untouched.relativeChange, 0);
    assert.equal(untouched.maxAbsChange, 0);
    assert.equal(untouched.unchangedFraction, 1);
    assert.ok(Math.abs(untouched.weights[0]!.cosine! - 1) < 1e-12);

    const s = byName.get('scaled')!.weights[0]!;
    assert.equal(s.verdict, 'barely-changed');
    assert.ok(Math.abs(s.relativeChange - 1e-6) < 2e-7, `relative change ${s.relativeChange}`);
    assert.ok(s.cosine! > 1 - 1e-12);
    assert.equal(byName.get('scaled')!.verdict, 'barely-changed');

    const d = byName.get('delta')!.weights[0]!;
    const norm = Math.sqrt(base[2]!.reduce((a, v) => a + v * v, 0));
    assert.equal(d.verdict, 'changed');
    assert.ok(Math.abs(d.maxAbsChange - 0.5) < 1e-6);
    assert.ok(Math.abs(d.relativeChange - Math.abs(delta[7]! - base[2]![7]!) / norm) < 1e-9);
    assert.equal(d.unchangedFraction, (N - 1) / N);
    // element 7 of a [3,3,2,4] kernel is out = 3: that filter ranks first, the others did not move
    assert.equal(d.filters[0]!.filter, 3);
    assert.equal(d.filters[0]!.verdict, 'changed');
    assert.deepEqual(d.filters.slice(1).map((f) => f.verdict), ['unchanged', 'unchanged', 'unchanged']);

    const n = byName.get('nan')!;
    assert.equal(n.verdict, 'exploded');
    assert.equal(n.weights[0]!.nonFiniteAfter, 1);

    const r = byName.get('conv_5')!;
    assert.equal(r.afterName, 'renamed_conv');
    assert.equal(r.alignedBy, 'order-and-shape');
    assert.equal(r.verdict, 'unchanged');
    assert.match(diff.notes.join(' '), /aligned by order and weight shapes: conv_5 -> renamed_conv/);

    assert.equal(diff.summary.verdict, 'exploded');
    assert.match(diff.summary.diagnosis.join(' '), /Training exploded: nan has 1 NaN\/Inf values/);
    assert.deepEqual(diff.onlyBefore, []);
    assert.deepEqual(diff.onlyAfter, []);
  });

  it('matches NumPy for relative change, max change and cosine', needsPython('numpy'), async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-diff-'));
    const b = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], base[2]!);
    const a = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], values(N, 9));
    writeFileSync(join(dir, 'b.npy'), b.toNpy());
    writeFileSync(join(dir, 'a.npy'), a.toNpy());
    const [rel, maxAbs, cos] = runPython(
      [
        'import sys, numpy as np',
        'b = np.load(sys.argv[1]).astype(np.float64); a = np.load(sys.argv[2]).astype(np.float64)',
        'print(np.linalg.norm(a - b) / np.linalg.norm(b), np.abs(a - b).max(), (a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))',
      ].join('\n'),
      [join(dir, 'b.npy'), join(dir, 'a.npy')],
    )
      .trim()
      .split(' ')
      .map(Number);
    const diff = await diffModels(model('b', [conv('c', base[2]!)]), model('a', [conv('c', a.data as Float32Array)]));
    const w = diff.layers[0]!.weights[0]!;
    assert.ok(Math.abs(w.relativeChange - rel!) < 1e-9);
    assert.ok(Math.abs(w.maxAbsChange - maxAbs!) < 1e-9);
    assert.ok(Math.abs(w.cosine! - cos!) < 1e-9);
  });

  it('aligns a Keras-layout kernel with the same kernel in PyTorch layout', async () => {
    const keras = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], base[0]!);
    const torchLayer: MemoryLayerSpec = {
      name: 'features.0',
      className: 'torch:conv',
      kind: 'conv',
      weights: [
        { role: 'kernel', tensor: keras.toAxes(['out', 'in', 'kh', 'kw']), name: 'features.0.weight' },
        { role: 'bias', tensor: new NamedTensor(['features'], [4], new Float32Array(4)), name: 'features.0.bias' },
      ],
    };
    const diff = await diffModels(model('keras.h5', [conv('conv_1', base[0]!)]), model('model.pt', [torchLayer]));
    assert.equal(diff.layers.length, 1);
    assert.equal(diff.layers[0]!.afterName, 'features.0');
    assert.equal(diff.layers[0]!.verdict, 'unchanged');
  });

  it('reports layers present on one side only', async () => {
    const extra: MemoryLayerSpec = {
      name: 'dense',
      className: 'Dense',
      kind: 'dense',
      weights: [{ role: 'kernel', tensor: new NamedTensor(['in', 'units'], [2, 3], new Float32Array(6).fill(1)) }],
    };
    const diff = await diffModels(model('b', [conv('c', base[0]!), extra]), model('a', [conv('c', base[0]!)]));
    assert.deepEqual(diff.onlyBefore, ['dense']);
    assert.deepEqual(diff.onlyAfter, []);
  });
});

describe('diagnosis', () => {
  it('barely-changed training names the learning rate and input scale', async () => {
    const tiny = base[0]!.map((v) => v + 1e-8);
    const diff = await diffModels(model('b', [conv('c1', base[0]!)]), model('a', [conv('c1', tiny)]), {
      training: { learningRate: 1e-6, inputScale: 'raw' },
    });
    assert.equal(diff.summary.verdict, 'barely-changed');
    const text = diff.summary.diagnosis.join(' ');
    assert.match(text, /Training barely moved the weights: the largest relative change of any layer is [0-9.e-]+ \(c1\)/);
    assert.match(text, /learning rate 1\.0e-6/);
    assert.match(text, /raw pixels in 0\.\.255: divide them by 255/);
  });

  it('flags identical filters from a constant initializer', async () => {
    const ones = new Float32Array(N).fill(1);
    const moved = ones.map((v) => v - 0.01);
    const diff = await diffModels(model('b', [conv('c1', ones)]), model('a', [conv('c1', moved)]));
    assert.equal(diff.layers[0]!.weights[0]!.identicalAfter?.filters, 4);
    assert.match(diff.summary.diagnosis.join(' '), /All 4 filters of layer c1 are identical before and after training.*'ones'/);
  });

  it('flags a frozen layer and dead filters in a changed layer', async () => {
    const changed = base[1]!.slice();
    for (let i = 0; i < N; i++) if (i % 4 !== 2) changed[i] = changed[i]! * 1.5;
    const diff = await diffModels(
      model('b', [conv('frozen', base[0]!, { trainable: false }), conv('c2', base[1]!)]),
      model('a', [conv('frozen', base[0]!, { trainable: false }), conv('c2', changed)]),
    );
    const text = diff.summary.diagnosis.join(' ');
    assert.match(text, /Layer frozen is frozen \(trainable: false in its config\), so it is expected to be unchanged\./);
    assert.match(text, /1 of 4 filters of layer c2 did not change at all \(filters 2\)/);
  });

  it('says updates vanish towards the input with their ratio, and never divides by a first layer that did not move', async () => {
    const scale = (data: Float32Array, f: number) => data.map((v) => v * f);
    const layers = (f: number[]) => [conv('c1', scale(base[0]!, f[0]!)), conv('c2', scale(base[1]!, f[1]!)), conv('c3', scale(base[2]!, f[2]!))];
    const vanishing = await diffModels(model('b', layers([1, 1, 1])), model('a', layers([1.001, 1.01, 1.1])));
    assert.match(vanishing.summary.diagnosis.join(' '), /Updates vanish towards the input: the first layer \(c1\) moved 0\.001, the last \(c3\) 0\.1, 100x more\./);
    const frozenFirst = (await diffModels(model('b', layers([1, 1, 1])), model('a', layers([1, 1.01, 1.1])))).summary.diagnosis.join(' ');
    assert.match(frozenFirst, /Layer c1 did not change at all while others did/);
    assert.doesNotMatch(frozenFirst, /Infinity|vanish/);
  });

  it('produces the documented JSON shape', async () => {
    const diff = await diffModels(model('b', [conv('c', base[0]!)]), model('a', [conv('c', base[1]!)]));
    const json = diffToJson(diff) as { layers: Record<string, unknown>[]; summary: Record<string, unknown> };
    for (const key of ['name', 'weight', 'relativeChange', 'maxAbsChange', 'unchangedFraction', 'cosine', 'verdict']) {
      assert.ok(key in json.layers[0]!, key);
    }
    assert.deepEqual(Object.keys(json.summary).sort(), ['diagnosis', 'verdict']);
  });
});

describe('diffModels --layer', () => {
  it('refuses a layer whose weights do not match in the after model, saying what each side has', async () => {
    const before = memoryModel({ source: 'b', format: 'safetensors', framework: 'keras', layers: [conv('c', base[0]!)] });
    const other: MemoryLayerSpec = { name: 'c', className: 'Dense', kind: 'dense', weights: [{ role: 'kernel', tensor: new NamedTensor(['in', 'units'], [2, 3], new Float32Array(6)) }] };
    const after = memoryModel({ source: 'a', format: 'safetensors', framework: 'keras', layers: [other] });
    await assert.rejects(diffModels(before, after, { layer: 'c' }), /Layer 'c' cannot be compared: its weights in a \(kernel \(2, 3\)\) do not match b \(kernel \(3, 3, 2, 4\), bias \(4\)\)\./);
    await assert.rejects(diffModels(before, memoryModel({ source: 'a', format: 'safetensors', framework: 'keras', layers: [] }), { layer: 'c' }), /a has no layer 'c'/);
  });
});
