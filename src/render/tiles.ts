import type { AxisName } from '../model/axes.js';
import { UnsupportedError } from '../model/errors.js';
import { NamedTensor } from '../tensor/named-tensor.js';

/**
 * A weight tensor rearranged by axis name into filters: `data` is [filter][channel][depth][height][width]
 * in C order, whatever the stored layout (Keras [kh, kw, in, out], PyTorch [out, in, kh, kw], ...).
 *
 * - conv kernels: filters = out, channels = in, tile = kh x kw (1-D: a 1 x kw strip; 3-D: kd slices)
 * - depthwise [kh, kw, in, mult]: filters = in x mult in output-channel order c * mult + m, one channel each
 * - dense [in, units] / [units, in] and 1 x 1 kernels: filters = units (or out), channels = in,
 *   tile 1 x 1 — drawn as one matrix, filters as rows and input channels as columns
 */
export interface FilterSet {
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
}

function has(t: NamedTensor, a: AxisName): boolean {
  return t.axes.includes(a);
}

function spatialOf(t: NamedTensor): AxisName[] {
  return (['kd', 'kh', 'kw'] as AxisName[]).filter((a) => has(t, a));
}

/** Builds the FilterSet of a kernel tensor; an UnsupportedError for tensors whose axes do not name filters. */
export function filterSet(tensor: NamedTensor, what = 'This weight'): FilterSet {
  const spatial = spatialOf(tensor);
  const depth = tensor.dim('kd') ?? 1;
  const height = tensor.dim('kh') ?? 1;
  const width = tensor.dim('kw') ?? 1;
  const tile = depth * height * width;
  const float = (t: NamedTensor): Float32Array => t.toFloat32();
  const named = `[${tensor.axes.join(', ')}]`;

  if (has(tensor, 'mult') && has(tensor, 'in') && spatial.length > 0 && tensor.rank === spatial.length + 2) {
    const t = tensor.toAxes(['in', 'mult', ...spatial]);
    const n = tensor.dim('in')! * tensor.dim('mult')!;
    return { data: float(t), filterCount: n, channelCount: 1, depth, height, width, filterAxis: 'in x mult', channelAxis: '', matrix: tile === 1 };
  }
  if (has(tensor, 'out') && has(tensor, 'in') && tensor.rank === spatial.length + 2) {
    const t = tensor.toAxes(['out', 'in', ...spatial]);
    return {
      data: float(t),
      filterCount: tensor.dim('out')!,
      channelCount: tensor.dim('in')!,
      depth,
      height,
      width,
      filterAxis: 'out',
      channelAxis: 'in',
      matrix: tile === 1,
    };
  }
  if (has(tensor, 'units') && has(tensor, 'in') && tensor.rank === 2) {
    const t = tensor.toAxes(['units', 'in']);
    return {
      data: float(t),
      filterCount: tensor.dim('units')!,
      channelCount: tensor.dim('in')!,
      depth: 1,
      height: 1,
      width: 1,
      filterAxis: 'units',
      channelAxis: 'in',
      matrix: true,
    };
  }
  throw new UnsupportedError(
    `${what} has axes ${named}, which name no filters: convscope draws kernels with axes (kh, kw, in, out), (kh, kw, in, mult) or (in, units) in any order.`,
  );
}

/** Values of filter f, all channels: channelCount * tile values. */
export function filterValues(set: FilterSet, f: number): Float32Array {
  const n = set.channelCount * set.depth * set.height * set.width;
  return set.data.subarray(f * n, (f + 1) * n);
}
