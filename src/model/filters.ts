import type { AxisName } from './axes.js';
import { UnsupportedError } from './errors.js';
import type { NamedTensor } from './named-tensor.js';

/**
 * A weight tensor seen as filters, by axis name, whatever the stored layout (Keras [kh, kw, in, out],
 * PyTorch [out, in, kh, kw], ...). Nothing is copied up front: `filterValues` gathers one filter's
 * values through the stored strides, and whole-layer scans walk the storage in order (`filterIndexing`).
 *
 * - conv kernels: filters = out, channels = in, tile = kh x kw (1-D: a 1 x kw strip; 3-D: kd slices)
 * - depthwise [kh, kw, in, mult]: filters = in x mult in output-channel order c * mult + m, one channel each
 * - dense [in, units] / [units, in] and 1 x 1 kernels: filters = units (or out), channels = in,
 *   tile 1 x 1 — drawn as one matrix, filters as rows and input channels as columns
 */
export interface FilterSet {
  /** The stored values, in stored order. */
  data: Float32Array;
  filterCount: number;
  channelCount: number;
  depth: number;
  height: number;
  width: number;
  /** What a filter is: 'out', 'units', 'in x mult'. */
  filterAxis: string;
  /** What a channel is: 'in', or '' when each filter has one (depthwise). */
  channelAxis: string;
  /** True when every tile is a single value: drawn as one heatmap matrix rather than a grid of tiles. */
  matrix: boolean;
  /** Lengths and storage strides of the axes that make up the filter index, outermost first. */
  filterDims: number[];
  filterStrides: number[];
  /** Storage strides of channel, depth, height and width (0 where the tensor has no such axis). */
  strides: [number, number, number, number];
}

function has(t: NamedTensor, a: AxisName): boolean {
  return t.axes.includes(a);
}

/** Builds the FilterSet of a kernel tensor; an UnsupportedError for tensors whose axes do not name filters. */
export function filterSet(tensor: NamedTensor, what = 'This weight'): FilterSet {
  const spatial = (['kd', 'kh', 'kw'] as AxisName[]).filter((a) => has(tensor, a));
  const storage: number[] = new Array<number>(tensor.rank);
  let step = 1;
  for (let i = tensor.rank - 1; i >= 0; i--) {
    storage[i] = step;
    step *= tensor.shape[i]!;
  }
  const strideOf = (a: AxisName): number => (has(tensor, a) ? storage[tensor.axes.indexOf(a)]! : 0);
  const dimOf = (a: AxisName): number => tensor.dim(a) ?? 1;
  const depth = dimOf('kd');
  const height = dimOf('kh');
  const width = dimOf('kw');
  const tile = depth * height * width;
  const base = {
    data: tensor.toFloat32(),
    depth,
    height,
    width,
    strides: [strideOf('in'), strideOf('kd'), strideOf('kh'), strideOf('kw')] as [number, number, number, number],
  };
  if (has(tensor, 'mult') && has(tensor, 'in') && spatial.length > 0 && tensor.rank === spatial.length + 2) {
    return {
      ...base,
      strides: [0, strideOf('kd'), strideOf('kh'), strideOf('kw')],
      filterCount: dimOf('in') * dimOf('mult'),
      channelCount: 1,
      filterAxis: 'in x mult',
      channelAxis: '',
      matrix: tile === 1,
      // Keras stores [.., in, mult]: c * mult + m is then one axis of stride strideOf('mult').
      ...(strideOf('in') === dimOf('mult') * strideOf('mult')
        ? { filterDims: [dimOf('in') * dimOf('mult')], filterStrides: [strideOf('mult')] }
        : { filterDims: [dimOf('in'), dimOf('mult')], filterStrides: [strideOf('in'), strideOf('mult')] }),
    };
  }
  const outAxis: AxisName | undefined =
    has(tensor, 'out') && tensor.rank === spatial.length + 2 ? 'out' : has(tensor, 'units') && tensor.rank === 2 ? 'units' : undefined;
  if (outAxis && has(tensor, 'in')) {
    return {
      ...base,
      filterCount: dimOf(outAxis),
      channelCount: dimOf('in'),
      filterAxis: outAxis,
      channelAxis: 'in',
      matrix: tile === 1,
      filterDims: [dimOf(outAxis)],
      filterStrides: [strideOf(outAxis)],
    };
  }
  throw new UnsupportedError(
    `${what} has axes [${tensor.axes.join(', ')}], which name no filters: convscope draws kernels with axes (kh, kw, in, out), (kh, kw, in, mult) or (in, units) in any order.`,
  );
}

/** Storage offset of filter f's first value. */
function filterBase(set: FilterSet, f: number): number {
  let base = 0;
  for (let k = set.filterDims.length - 1; k >= 0; k--) {
    const n = set.filterDims[k]!;
    base += (f % n) * set.filterStrides[k]!;
    f = Math.floor(f / n);
  }
  return base;
}

/** Filter f's values for input channels [from, to), as [channel][depth][height][width]. */
export function filterValues(set: FilterSet, f: number, from = 0, to = set.channelCount): Float32Array {
  const [sc, sd, sh, sw] = set.strides;
  const out = new Float32Array((to - from) * set.depth * set.height * set.width);
  const base = filterBase(set, f);
  let o = 0;
  for (let c = from; c < to; c++) {
    for (let d = 0; d < set.depth; d++) {
      for (let y = 0; y < set.height; y++) {
        let i = base + c * sc + d * sd + y * sh;
        for (let x = 0; x < set.width; x++, i += sw) out[o++] = set.data[i]!;
      }
    }
  }
  return out;
}

/**
 * Storage offset of every filter's first value, and (only when the filter index spans two axes that
 * are not adjacent in storage) the filter of every stored value. With a single filter axis of stride s
 * and length d, the filter of stored value i is floor(i / s) % d: whole-layer scans count it instead.
 */
export function filterIndexing(set: FilterSet): { bases: Float64Array; filterOf?: Int32Array } {
  const bases = Float64Array.from({ length: set.filterCount }, (_, f) => filterBase(set, f));
  if (set.filterDims.length === 1) return { bases };
  const filterOf = new Int32Array(set.data.length);
  for (let i = 0; i < filterOf.length; i++) {
    let f = 0;
    for (let k = 0; k < set.filterDims.length; k++) f = f * set.filterDims[k]! + (Math.floor(i / set.filterStrides[k]!) % set.filterDims[k]!);
    filterOf[i] = f;
  }
  return { bases, filterOf };
}
