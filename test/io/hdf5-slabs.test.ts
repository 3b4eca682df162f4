import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openHdf5 } from '../../src/io/hdf5.js';
import { fileSource } from '../../src/io/node-source.js';
import { needsPython, runPython } from '../helpers/python.js';

// h5py writes datasets above the 4 MiB slab size (read a slab of rows at a time) and below it (read
// whole); every value is a formula of its flat index, recomputed here in float32 / int32.
const dir = mkdtempSync(join(tmpdir(), 'convscope-hdf5-slabs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const floatAt = (i: number) => Math.fround(((i * 7919) % 10007) / 10007 - 0.5);
const intAt = (i: number) => ((i * 104729) % 2_000_003) - 1_000_000;

describe('HDF5 datasets larger than one slab', () => {
  it('read exactly what h5py wrote, across uneven slabs, in float32, int32 and 1-D', needsPython('h5py', 'numpy'), async () => {
    const file = join(dir, 'big.h5');
    runPython(
      [
        'import sys, h5py, numpy as np',
        'f = h5py.File(sys.argv[1], "w")',
        'i = np.arange(1100 * 1000, dtype=np.int64)',
        'f["big"] = (((i * 7919) % 10007) / 10007 - 0.5).astype(np.float32).reshape(1100, 1000)',
        'f["ints"] = (((i * 104729) % 2000003) - 1000000).astype(np.int32).reshape(1100, 1000)',
        'j = np.arange(1_200_000, dtype=np.int64)',
        'f["flat"] = (((j * 7919) % 10007) / 10007 - 0.5).astype(np.float32)',
        'k = np.arange(30 * 40, dtype=np.int64)',
        'f["small"] = (((k * 7919) % 10007) / 10007 - 0.5).astype(np.float32).reshape(30, 40)',
        'f.close()',
      ].join('\n'),
      [file],
    );
    const h5 = await openHdf5(await fileSource(file));
    try {
      for (const [path, shape, at] of [
        ['big', [1100, 1000], floatAt],
        ['ints', [1100, 1000], intAt],
        ['flat', [1_200_000], floatAt],
        ['small', [30, 40], floatAt],
      ] as const) {
        const ds = h5.dataset(path, `dataset '${path}'`);
        assert.deepEqual(ds.shape, shape);
        const data = await h5.read(ds);
        assert.equal(data.length, shape.reduce((a, b) => a * b, 1), path);
        let mismatches = 0;
        for (let i = 0; i < data.length; i++) if (data[i] !== at(i)) mismatches++;
        assert.equal(mismatches, 0, `${path}: ${mismatches} values differ from h5py's`);
      }
    } finally {
      h5.close();
    }
  });
});
