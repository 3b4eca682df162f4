import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AxisName } from '../../src/model/axes.js';
import { filterAxesOf, filterSelection, filterSet, filterValues } from '../../src/model/filters.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';

/** Every layout of DESIGN.md's axis vocabulary that numbers filters. */
const LAYOUTS: { name: string; axes: AxisName[]; shape: number[] }[] = [
  { name: 'Keras Conv2D', axes: ['kh', 'kw', 'in', 'out'], shape: [3, 2, 4, 5] },
  { name: 'PyTorch Conv2d', axes: ['out', 'in', 'kh', 'kw'], shape: [5, 4, 3, 2] },
  { name: 'Keras Conv2DTranspose', axes: ['kh', 'kw', 'out', 'in'], shape: [3, 2, 5, 4] },
  { name: 'PyTorch ConvTranspose2d', axes: ['in', 'out', 'kh', 'kw'], shape: [4, 5, 3, 2] },
  { name: 'Keras DepthwiseConv2D', axes: ['kh', 'kw', 'in', 'mult'], shape: [3, 3, 4, 3] },
  { name: 'Keras Conv1D', axes: ['kw', 'in', 'out'], shape: [5, 3, 4] },
  { name: 'Keras Conv3D', axes: ['kd', 'kh', 'kw', 'in', 'out'], shape: [2, 3, 2, 3, 4] },
  { name: 'Keras Dense', axes: ['in', 'units'], shape: [7, 6] },
  { name: 'PyTorch Linear', axes: ['units', 'in'], shape: [6, 7] },
];

function randomTensor(axes: AxisName[], shape: number[], seed: number): NamedTensor {
  const r = prng(seed);
  return new NamedTensor(axes, shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1));
}

// NumPy states DESIGN.md's rule independently: filter j is index j of `out` (or `units`); for depthwise
// kernels the (in, mult) pair flattened C-order, so j = c * mult + m. The slice keeps the other axes in
// stored order; the tile (filterValues) is that slice as [in][kd][kh][kw].
const NUMPY_FILTERS = `
import sys, json, numpy as np
cases = json.load(sys.stdin)
out = []
for c in cases:
    a = np.array(c['data'], dtype=np.float32).reshape(c['shape'])
    axes = c['axes']
    if 'mult' in axes:
        first = [axes.index('in'), axes.index('mult')]
    else:
        first = [axes.index('out' if 'out' in axes else 'units')]
    rest = [i for i in range(len(axes)) if i not in first]
    moved = np.transpose(a, first + rest)
    flat = moved.reshape((-1,) + moved.shape[len(first):])
    tile_order = [rest.index(axes.index(n)) for n in ['in', 'kd', 'kh', 'kw'] if n in axes and axes.index(n) in rest]
    out.append({'count': flat.shape[0],
                'slices': [flat[j].ravel().tolist() for j in range(flat.shape[0])],
                'tiles': [np.transpose(flat[j], tile_order).ravel().tolist() for j in range(flat.shape[0])]})
print(json.dumps(out))
`;

describe('model/filters: the one definition of filter j', () => {
  it('filter j of every layout equals the NumPy slice, whether taken as a selection (weights --filter) or a tile (filters)', needsPython('numpy'), () => {
    const tensors = LAYOUTS.map((l, i) => randomTensor(l.axes, l.shape, 100 + i));
    const input = JSON.stringify(tensors.map((t) => ({ axes: t.axes, shape: t.shape, data: Array.from(t.toFloat32()) })));
    const oracle = JSON.parse(runPython(NUMPY_FILTERS, [], input)) as { count: number; slices: number[][]; tiles: number[][] }[];
    LAYOUTS.forEach((layout, i) => {
      const t = tensors[i]!;
      const o = oracle[i]!;
      assert.equal(filterAxesOf(t)?.count, o.count, layout.name);
      const set = filterSet(t);
      assert.equal(set.filterCount, o.count, layout.name);
      for (let j = 0; j < o.count; j++) {
        assert.deepEqual(Array.from(t.select(filterSelection(t, j)).toFloat32()), o.slices[j], `${layout.name}: slice of filter ${j}`);
        assert.deepEqual(Array.from(t.filter(j).toFloat32()), o.slices[j], `${layout.name}: NamedTensor.filter(${j})`);
        assert.deepEqual(Array.from(filterValues(set, j)), o.tiles[j], `${layout.name}: tile ${j}`);
      }
    });
  });
});
