import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openHdf5, openHdf5Library } from '../../src/io/hdf5.js';
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
        'f.create_dataset("chunked", data=f["big"][()], chunks=(128, 1000), compression="gzip")',
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
    // Rows of the first dimension alone (Weight.readRows), by both engines: inside one slab, across
    // slabs, the last row, none; contiguous and chunked.
    for (const open of [openHdf5, openHdf5Library]) {
      const h5rows = await open(await fileSource(file));
      try {
        for (const [path, rowLength, at] of [
          ['big', 1000, floatAt],
          ['ints', 1000, intAt],
          ['chunked', 1000, floatAt],
          ['small', 40, floatAt],
        ] as const) {
          const ds = h5rows.dataset(path, `dataset '${path}'`);
          for (const [start, count] of [[0, 3], [1000, 100], [ds.shape[0]! - 1, 1], [5, 0]] as const) {
            if (start + count > ds.shape[0]!) continue;
            const rows = await h5rows.read(ds, { start, count });
            assert.equal(rows.length, count * rowLength, `${open.name} ${path} rows ${start}+${count}`);
            let mismatches = 0;
            for (let i = 0; i < rows.length; i++) if (rows[i] !== at(start * rowLength + i)) mismatches++;
            assert.equal(mismatches, 0, `${open.name} ${path} rows ${start}+${count}: ${mismatches} values differ from h5py's`);
          }
        }
      } finally {
        h5rows.close();
      }
    }
  });
});
