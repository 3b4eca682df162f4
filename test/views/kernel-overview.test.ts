import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { openModel } from '../../src/formats/open.js';
import { encodeSafetensors } from '../../src/formats/safetensors-write.js';
import { decodeNpy } from '../../src/model/npy.js';
import { kernelOverview, readKernelPicture } from '../../src/views/kernel-overview.js';
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

describe('kernel overview read a slab of rows at a time', needsPython('numpy', 'torch'), () => {
  it('equals NumPy’s blocks of the whole kernel, from torch.save and safetensors files, without ever reading it whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-overview-rows-'));
    try {
      runPython(
        [
          'import sys, collections, numpy as np, torch',
          'k = np.random.default_rng(5).uniform(-0.05, 0.05, (2100, 2050)).astype(np.float32)',
          'k[7, 2049] = 3.5',
          'k[2099, 0] = -4',
          'np.save(sys.argv[1] + "/k.npy", k)',
          "torch.save(collections.OrderedDict([('fc.weight', torch.from_numpy(k)), ('fc.bias', torch.zeros(2100))]), sys.argv[1] + '/w.pt')",
          'b = np.pad(k, ((0, 0), (0, 2))).reshape(700, 3, 684, 3).transpose(0, 2, 1, 3).reshape(700, 684, 9)',
          'np.save(sys.argv[1] + "/expected.npy", np.take_along_axis(b, np.abs(b).argmax(axis=2)[..., None], axis=2)[..., 0])',
        ].join('\n'),
        [dir],
      );
      const kernel = decodeNpy(readFileSync(join(dir, 'k.npy')), 'k.npy');
      writeFileSync(
        join(dir, 'w.safetensors'),
        encodeSafetensors([
          { name: 'fc.weight', shape: kernel.shape, data: kernel.data },
          { name: 'fc.bias', shape: [2100], data: new Float32Array(2100) },
        ]),
      );
      const expected = decodeNpy(readFileSync(join(dir, 'expected.npy')), 'expected.npy').data;
      for (const file of ['w.pt', 'w.safetensors']) {
        const model = await openModel(join(dir, file));
        try {
          const weight = model.layers.find((l) => l.name === 'fc')!.weights.find((w) => w.role === 'kernel')!;
          assert.ok(weight.readRows, `${file}: the kernel can be read in parts`);
          const partsOnly = { ...weight, read: () => Promise.reject(new Error('read whole')) };
          const slabs: number[] = [];
          const picture = await readKernelPicture(partsOnly, (bytes) => slabs.push(bytes));
          assert.deepEqual(picture.tensor.axes, ['units', 'in'], file);
          assert.deepEqual(picture.tensor.shape, [700, 684], file);
          assert.match(picture.note!, /^overview of all 2,100 units x 2,050 in: each cell is the largest-\|w\| value \(sign kept\) of a block of 3 units x 3 in$/);
          assert.ok(slabs.length > 1 && Math.max(...slabs) <= 4 * 2 ** 20, `${file}: read in slabs of at most 4 MiB (${slabs.join(', ')})`);
          assert.deepEqual(picture.tensor.data, expected, `${file}: the blocks differ from NumPy's`);
        } finally {
          model.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
