import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { kernelOverview } from '../../src/views/kernel-overview.js';
import { needsPython, runPython } from '../helpers/python.js';

describe('kernel overview of a large Dense kernel', needsPython('numpy'), () => {
  it('keeps each block’s largest-|w| value with its sign, over the whole kernel, as NumPy computes it', () => {
    const random = seedrandom('overview');
    const shape = [2100, 2050];
    const data = Float32Array.from({ length: shape[0]! * shape[1]! }, () => (random() * 2 - 1) * 0.05);
    data[7 * 2050 + 2049] = 3.5; // an outlier in the ragged last column block
    data[2099 * 2050] = -4; // and one in the last row
    const t = new NamedTensor(['in', 'units'], shape, data);
    const overview = kernelOverview(t)!;
    assert.deepEqual(overview.tensor.shape, [700, 684]);
    assert.deepEqual(overview.tensor.axes, ['in', 'units']);
    assert.match(overview.note, /^overview of all 2,050 units x 2,100 in: each cell is the largest-\|w\| value \(sign kept\) of a block of 3 units x 3 in$/);
    const dir = mkdtempSync(join(tmpdir(), 'convscope-overview-'));
    writeFileSync(join(dir, 'k.npy'), t.toNpy());
    writeFileSync(join(dir, 'o.npy'), overview.tensor.toNpy());
    const same = runPython(
      'import sys, numpy as np\nk = np.load(sys.argv[1])\nk = np.pad(k, ((0, 0), (0, 2052 - 2050)))\n' +
        'b = k.reshape(700, 3, 684, 3).transpose(0, 2, 1, 3).reshape(700, 684, 9)\n' +
        'i = np.abs(b).argmax(axis=2)\nexpect = np.take_along_axis(b, i[..., None], axis=2)[..., 0]\n' +
        'print(np.array_equal(expect, np.load(sys.argv[2])))',
      [join(dir, 'k.npy'), join(dir, 'o.npy')],
    );
    assert.equal(same.trim(), 'True');
    assert.equal(overview.tensor.stats().absMax, 4, 'the shared scale (largest |w|) survives');
  });

  it('leaves small kernels and non-matrices to be drawn cell by cell', () => {
    assert.equal(kernelOverview(new NamedTensor(['in', 'units'], [100, 10], new Float32Array(1000))), undefined);
    assert.equal(kernelOverview(new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 512, 1024], new Float32Array(3 * 3 * 512 * 1024))), undefined);
  });
});
