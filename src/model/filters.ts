import type { AxisName } from './axes.js';
import { SelectionError, UnsupportedError } from './errors.js';
import { findWeight } from './lookup.js';
import type { Layer, Model, Weight } from './model.js';
import type { AxisSelection, NamedTensor } from './named-tensor.js';

/*
 * The one owner of what "filter j", "the kernel of a layer" and "the first conv layer" mean. Every
 * surface asks here: NamedTensor.filter, `weights --filter` (readSlice), the tiles of `filters`, the
 * viewer's filter panel, the diff grids, the diagnosis and the default layer of `activations`.
 *
 * Filter j is, by axis name, whatever the stored layout:
 * - conv kernels [kh, kw, in, out] / [out, in, kh, kw], transposed convs [kh, kw, out, in] / [in, out, kh, kw]:
 *   out = j (1-D and 3-D kernels too);
 * - Dense / Linear [in, units] / [units, in]: units = j (a row of the matrix the viewer draws);
 * - depthwise [kh, kw, in, mult]: the output channel j = c * mult + m, that is in = j div mult, mult = j mod mult.
 * Channel c of filter j adds in = c where the filter has a separate input-channel axis (not depthwise).
 */

/** Anything with named axes and a shape: a Weight (nothing read yet) or a NamedTensor. */
export type Shaped = Pick<Weight, 'axes' | 'shape'>;

/** The axes that number the filters of a kernel, and how many filters there are. */
export interface FilterAxes {
  kind: 'out' | 'units' | 'in x mult';
  count: number;
  /** Input channels per filter (1 for depthwise: each filter sees one channel). */
  channels: number;
}

function dimOf(t: Shaped, a: AxisName): number | undefined {
  const i = t.axes.indexOf(a);
  return i < 0 ? undefined : t.shape[i];
}

/** How the filters of `t` are numbered, or undefined when its axes name no filters (a bias, a BatchNorm vector). */
export function filterAxesOf(t: Shaped): FilterAxes | undefined {
  const spatial = (['kd', 'kh', 'kw'] as AxisName[]).filter((a) => t.axes.includes(a)).length;
  const inputs = dimOf(t, 'in');
  if (inputs === undefined) return undefined;
  const mult = dimOf(t, 'mult');
  if (mult !== undefined && spatial > 0 && t.axes.length === spatial + 2) return { kind: 'in x mult', count: inputs * mult, channels: 1 };
  const out = dimOf(t, 'out');
  if (out !== undefined && t.axes.length === spatial + 2) return { kind: 'out', count: out, channels: inputs };
  const units = dimOf(t, 'units');
  if (units !== undefined && t.axes.length === 2) return { kind: 'units', count: units, channels: inputs };
  return undefined;
}

/** `filter j along 'out'`, or for depthwise kernels `filter j = c * mult + m, along 'in' and 'mult'`. */
export function filterRule(axes: FilterAxes): string {
  return axes.kind === 'in x mult' ? "filter j = c * mult + m, along 'in' and 'mult'" : `filter j along '${axes.kind}'`;
}

/** Where a weight sits, for error messages; omitted for a bare tensor. */
export interface WeightPlace {
  layer: string;
  role: string;
}

/**
 * The axis selection of filter j (and input channel c, when given) of a kernel, checked against its
 * shape before anything is read.
 */
export function filterSelection(t: Shaped, j: number, channel?: number, place?: WeightPlace): AxisSelection {
  const axes = filterAxesOf(t);
  const inLayer = place ? `layer '${place.layer}'` : 'this weight';
  if (!axes) {
    throw new SelectionError(
      `${place ? `Weight '${place.role}' of layer '${place.layer}'` : 'This weight'} has axes [${t.axes.join(', ')}], which number no filters: ` +
        'filters are slices of kernels with axes (kh, kw, in, out), (kh, kw, in, mult) or (in, units) in any order.',
    );
  }
  if (!Number.isInteger(j) || j < 0 || j >= axes.count) {
    throw new SelectionError(`Filter ${j} is out of range for ${inLayer}: it has ${axes.count} filters along '${axes.kind}' (valid: 0 to ${axes.count - 1}).`);
  }
  const selection: AxisSelection =
    axes.kind === 'in x mult' ? { in: Math.floor(j / dimOf(t, 'mult')!), mult: j % dimOf(t, 'mult')! } : axes.kind === 'out' ? { out: j } : { units: j };
  if (channel === undefined) return selection;
  if (axes.kind === 'in x mult') {
    if (channel === 0) return selection;
    throw new SelectionError(`Filter ${j} of ${inLayer} is depthwise: it sees input channel ${selection.in} only, so its only channel is 0, not ${channel}.`);
  }
  return { ...selection, ...channelSelection(t, channel, place) };
}

/** Input channel c of every filter (in = c), checked against the 'in' axis. */
export function channelSelection(t: Shaped, channel: number, place?: WeightPlace): AxisSelection {
  const n = dimOf(t, 'in');
  const inLayer = place ? `layer '${place.layer}'` : 'this weight';
  if (n === undefined) {
    throw new SelectionError(
      `${place ? `Weight '${place.role}' of layer '${place.layer}'` : 'This weight'} has axes [${t.axes.join(', ')}] and no input-channel axis 'in', so it has no input channel ${channel}.`,
    );
  }
  if (!Number.isInteger(channel) || channel < 0 || channel >= n) {
    throw new SelectionError(`Input channel ${channel} is out of range for ${inLayer}: it has ${n} input channels (valid: 0 to ${n - 1}).`);
  }
  return { in: channel };
}

/** A kernel numbers filters: conv / depthwise / pointwise / transposed kernels and Dense matrices (not recurrent kernels). */
export function isKernel(w: Pick<Weight, 'role' | 'axes'>): boolean {
  return w.role.endsWith('kernel') && w.role !== 'recurrent_kernel' && w.axes.includes('in');
}

/** A kernel with a spatial extent: what a convolution slides over the image. */
export function isConvKernel(w: Pick<Weight, 'role' | 'axes'>): boolean {
  return isKernel(w) && w.axes.includes('kw');
}

/** The kernels of a layer in file order (SeparableConv has two: depthwise_kernel and pointwise_kernel). */
export function kernelsOfLayer(layer: Layer): Weight[] {
  return layer.weights.filter(isKernel);
}

/** The kernel of a layer: the weight called `kernel` when it is one, else its first kernel; undefined when it has none. */
export function kernelOf(layer: Layer): Weight | undefined {
  const kernels = kernelsOfLayer(layer);
  return kernels.find((w) => w.role === 'kernel') ?? kernels[0];
}

/** Layers with at least one kernel, in file order. */
export function layersWithKernels(model: Model): Layer[] {
  return model.layers.filter((l) => l.weights.some(isKernel));
}

function kernelLayerList(model: Model): string {
  const names = layersWithKernels(model).map((l) => l.name);
  return `${names.slice(0, 12).join(', ')}${names.length > 12 ? ', ...' : ''}`;
}

/** Layers with a convolution kernel, in file order: the convolutions. */
export function convLayers(model: Model): Layer[] {
  return model.layers.filter((l) => l.weights.some(isConvKernel));
}

/** The first layer with a convolution kernel (the default layer of `filters`, `activations` and the timeline), if any. */
export function findFirstConvLayer(model: Model): Layer | undefined {
  return model.layers.find((l) => l.weights.some(isConvKernel));
}

/** The first layer with a convolution kernel, or a SelectionError naming the layers with kernels. */
export function firstConvLayer(model: Model): Layer {
  const layer = findFirstConvLayer(model);
  if (layer) return layer;
  const any = layersWithKernels(model);
  throw new SelectionError(
    `${model.source} has no convolution kernel${any.length > 0 ? `; choose another layer (layers with kernels: ${kernelLayerList(model)})` : ''}.`,
  );
}

/**
 * The kernels of a layer to draw: the weight with `role` when given, else every kernel; a SelectionError
 * naming the layers that have kernels when it has none.
 */
export function kernelsOf(model: Model, layer: Layer, role?: string): Weight[] {
  if (role !== undefined) return [findWeight(layer, role)];
  const kernels = kernelsOfLayer(layer);
  if (kernels.length > 0) return kernels;
  throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no kernel to draw; layers with kernels: ${kernelLayerList(model)}.`);
}

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

function has(t: Shaped, a: AxisName): boolean {
  return t.axes.includes(a);
}

/** Builds the FilterSet of a kernel tensor; an UnsupportedError for tensors whose axes do not name filters. */
export function filterSet(tensor: NamedTensor, what = 'This weight'): FilterSet {
  const storage: number[] = new Array<number>(tensor.rank);
  let step = 1;
  for (let i = tensor.rank - 1; i >= 0; i--) {
    storage[i] = step;
    step *= tensor.shape[i]!;
  }
  const strideOf = (a: AxisName): number => (has(tensor, a) ? storage[tensor.axes.indexOf(a)]! : 0);
  const lengthOf = (a: AxisName): number => tensor.dim(a) ?? 1;
  const depth = lengthOf('kd');
  const height = lengthOf('kh');
  const width = lengthOf('kw');
  const tile = depth * height * width;
  const base = {
    data: tensor.toFloat32(),
    depth,
    height,
    width,
    strides: [strideOf('in'), strideOf('kd'), strideOf('kh'), strideOf('kw')] as [number, number, number, number],
  };
  const filterAxes = filterAxesOf(tensor);
  if (filterAxes?.kind === 'in x mult') {
    return {
      ...base,
      strides: [0, strideOf('kd'), strideOf('kh'), strideOf('kw')],
      filterCount: filterAxes.count,
      channelCount: 1,
      filterAxis: 'in x mult',
      channelAxis: '',
      matrix: tile === 1,
      // Keras stores [.., in, mult]: c * mult + m is then one axis of stride strideOf('mult').
      ...(strideOf('in') === lengthOf('mult') * strideOf('mult')
        ? { filterDims: [filterAxes.count], filterStrides: [strideOf('mult')] }
        : { filterDims: [lengthOf('in'), lengthOf('mult')], filterStrides: [strideOf('in'), strideOf('mult')] }),
    };
  }
  if (filterAxes) {
    return {
      ...base,
      filterCount: filterAxes.count,
      channelCount: filterAxes.channels,
      filterAxis: filterAxes.kind,
      channelAxis: 'in',
      matrix: tile === 1,
      filterDims: [filterAxes.count],
      filterStrides: [strideOf(filterAxes.kind)],
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
