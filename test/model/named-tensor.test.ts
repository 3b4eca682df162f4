import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { decodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

/** A Keras-layout kernel [kh, kw, in, out] whose value encodes its own index: 1000*kh + 100*kw + 10*in + out. */
function codedKernel(kh: number, kw: number, cin: number, cout: number): NamedTensor {
  const data = new Float32Array(kh * kw * cin * cout);
  let i = 0;
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) for (let c = 0; c < cin; c++) for (let d = 0; d < cout; d++) data[i++] = 1000 * a + 100 * b + 10 * c + d;
  return new NamedTensor(['kh', 'kw', 'in', 'out'], [kh, kw, cin, cout], data);
}

describe('NamedTensor', () => {
  it('filter(j) is the slice out = j, keeping the other axes in order', () => {
    const t = codedKernel(3, 2, 4, 5).filter(3);
    assert.deepEqual(t.axes, ['kh', 'kw', 'in']);
    assert.deepEqual(t.shape, [3, 2, 4]);
    assert.equal(t.at({ kh: 2, kw: 1, in: 3 }), 2000 + 100 + 30 + 3);
  });

  it('select by name works the same whatever the layout', () => {
    const keras = codedKernel(3, 2, 4, 5);
    const torch = keras.toAxes(['out', 'in', 'kh', 'kw']);
    assert.deepEqual(torch.shape, [5, 4, 3, 2]);
    const a = keras.select({ out: 4, in: 2 }).toAxes(['kh', 'kw']);
    const b = torch.select({ out: 4, in: 2 });
    assert.deepEqual(b.axes, ['kh', 'kw']);
    assert.deepEqual(a.toArray(), b.toArray());
    assert.deepEqual(b.toArray(), [24, 124, 1024, 1124, 2024, 2124]);
  });

  it('rejects out-of-range indices and unknown axes with the valid range', () => {
    const t = codedKernel(2, 2, 1, 3);
    assert.throws(() => t.filter(3), /Filter 3 is out of range for this weight: it has 3 filters along 'out' \(valid: 0 to 2\)/);
    assert.throws(() => t.select({ out: 3 }), /Index 3 is out of range for axis 'out' of length 3 \(valid: 0 to 2\)/);
    assert.throws(() => t.select({ mult: 0 }), /no axis 'mult'; its axes are \[kh, kw, in, out\]/);
  });

  it('stats counts zeros, NaN and Inf and ignores them for the moments', () => {
    const t = new NamedTensor(['features'], [6], new Float32Array([0, 1, 2, 3, NaN, Infinity]));
    const s = t.stats();
    assert.equal(s.zeros, 1);
    assert.equal(s.nan, 1);
    assert.equal(s.inf, 1);
    assert.equal(s.mean, 1.5);
    assert.ok(Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
    assert.equal(s.min, 0);
    assert.equal(s.max, 3);
  });

  it('toNpy round-trips through decodeNpy', () => {
    const t = codedKernel(2, 3, 1, 2);
    const back = decodeNpy(t.toNpy());
    assert.deepEqual(back.shape, [2, 3, 1, 2]);
    assert.deepEqual(Array.from(back.data as Float32Array), t.toArray());
  });

  it('toNpy loads in NumPy with the same values and shape', needsPython('numpy'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-npy-'));
    const t = codedKernel(3, 2, 4, 5).filter(1);
    writeFileSync(join(dir, 'a.npy'), t.toNpy());
    const out = runPython(
      'import sys, numpy as np; a = np.load(sys.argv[1]); print(a.dtype, a.shape, a[2, 1, 3], float(a.sum()))',
      [join(dir, 'a.npy')],
    ).trim();
    const sum = t.toArray().reduce((x, y) => x + y, 0);
    assert.equal(out, `float32 (3, 2, 4) 2131.0 ${sum.toFixed(1)}`);
  });
});
