import type { AxisName } from './axes.js';
import { dataDType, type DType, type TensorData } from './dtype.js';
import { SelectionError } from './errors.js';
import { filterSelection } from './filters.js';
import { encodeNpy } from './npy.js';
import { tensorStats, type TensorStats } from './stats.js';

/** Which index to take along some named axes; unnamed axes are kept whole. */
export type AxisSelection = Partial<Record<AxisName, number>>;

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

function emptyLike(data: TensorData, n: number): TensorData {
  return new (data.constructor as new (n: number) => TensorData)(n);
}

/**
 * A C-order tensor whose axes have names. Selections and transpositions go by name, never by
 * position, so the same call works on Keras ([kh, kw, in, out]) and PyTorch ([out, in, kh, kw]) weights.
 */
export class NamedTensor {
  readonly axes: readonly AxisName[];
  readonly shape: readonly number[];
  readonly data: TensorData;

  constructor(axes: readonly AxisName[], shape: readonly number[], data: TensorData) {
    if (axes.length !== shape.length) {
      throw new RangeError(`A tensor of rank ${shape.length} needs ${shape.length} axis names, but received [${axes.join(', ')}].`);
    }
    if (new Set(axes).size !== axes.length) {
      throw new RangeError(`Axis names must be distinct, but received [${axes.join(', ')}].`);
    }
    if (product(shape) !== data.length) {
      throw new RangeError(`Shape (${shape.join(', ')}) holds ${product(shape)} values, but the data has ${data.length}.`);
    }
    this.axes = axes;
    this.shape = shape;
    this.data = data;
  }

  get dtype(): DType {
    return dataDType(this.data);
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Position of a named axis; throws a SelectionError naming the available axes. */
  axisIndex(axis: AxisName): number {
    const i = this.axes.indexOf(axis);
    if (i < 0) throw new SelectionError(`This tensor has no axis '${axis}'; its axes are [${this.axes.join(', ')}].`);
    return i;
  }

  /** Length of a named axis, or undefined when the tensor has no such axis. */
  dim(axis: AxisName): number | undefined {
    const i = this.axes.indexOf(axis);
    return i < 0 ? undefined : this.shape[i];
  }

  /** Takes one index along each named axis and drops those axes: `select({ out: 6, in: 0 })`. */
  select(selection: AxisSelection): NamedTensor {
    const picks = new Map<number, number>();
    for (const [axis, index] of Object.entries(selection) as [AxisName, number | undefined][]) {
      if (index === undefined) continue;
      const a = this.axisIndex(axis);
      const n = this.shape[a]!;
      if (!Number.isInteger(index) || index < 0 || index >= n) {
        throw new SelectionError(`Index ${index} is out of range for axis '${axis}' of length ${n} (valid: 0 to ${n - 1}).`);
      }
      picks.set(a, index);
    }
    if (picks.size === 0) return this;
    const keep = this.shape.map((_, i) => i).filter((i) => !picks.has(i));
    const outShape = keep.map((i) => this.shape[i]!);
    const strides = stridesOf(this.shape);
    let base = 0;
    for (const [a, idx] of picks) base += idx * strides[a]!;
    const out = emptyLike(this.data, product(outShape));
    const keepStrides = keep.map((i) => strides[i]!);
    const counter = new Array<number>(keep.length).fill(0);
    for (let o = 0; o < out.length; o++) {
      let src = base;
      for (let k = 0; k < keep.length; k++) src += counter[k]! * keepStrides[k]!;
      (out as Float64Array)[o] = (this.data as Float64Array)[src]!;
      for (let k = keep.length - 1; k >= 0; k--) {
        if (++counter[k]! < outShape[k]!) break;
        counter[k] = 0;
      }
    }
    return new NamedTensor(
      keep.map((i) => this.axes[i]!),
      outShape,
      out,
    );
  }

  /** Filter j (out = j; Dense units = j; depthwise in = j div mult, mult = j mod mult): see model/filters.ts. */
  filter(j: number): NamedTensor {
    return this.select(filterSelection(this, j));
  }

  /** The same values with the axes in the given order (every axis named exactly once). */
  toAxes(order: readonly AxisName[]): NamedTensor {
    if (order.length !== this.rank || new Set(order).size !== order.length) {
      throw new SelectionError(`toAxes needs each of [${this.axes.join(', ')}] exactly once, but received [${order.join(', ')}].`);
    }
    const perm = order.map((a) => this.axisIndex(a));
    if (perm.every((p, i) => p === i)) return this;
    const outShape = perm.map((p) => this.shape[p]!);
    const strides = stridesOf(this.shape);
    const permStrides = perm.map((p) => strides[p]!);
    const out = emptyLike(this.data, this.size);
    const counter = new Array<number>(perm.length).fill(0);
    let src = 0;
    for (let o = 0; o < out.length; o++) {
      (out as Float64Array)[o] = (this.data as Float64Array)[src]!;
      for (let k = perm.length - 1; k >= 0; k--) {
        src += permStrides[k]!;
        if (++counter[k]! < outShape[k]!) break;
        src -= permStrides[k]! * outShape[k]!;
        counter[k] = 0;
      }
    }
    return new NamedTensor(order, outShape, out);
  }

  /** The value at a full index given by name: `at({ kh: 0, kw: 1, in: 0, out: 6 })`. */
  at(index: AxisSelection): number {
    const t = this.select(index);
    if (t.rank !== 0) {
      throw new SelectionError(`at() needs an index for every axis of [${this.axes.join(', ')}].`);
    }
    return Number(t.data[0]);
  }

  /** The values as float32 (the data itself when it already is; int64 values converted). */
  toFloat32(): Float32Array {
    if (this.data instanceof Float32Array) return this.data;
    return Float32Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  /** The values as plain numbers, C order. */
  toArray(): number[] {
    return Array.from(this.data as ArrayLike<number | bigint>, Number);
  }

  stats(): TensorStats {
    return tensorStats(this.data);
  }

  /** NumPy .npy bytes of this tensor in its own axis order. */
  toNpy(): Uint8Array {
    return encodeNpy(this.data, this.shape);
  }

  /** Values as a nested JS array (for JSON output). */
  toNested(): unknown {
    const values = this.toArray();
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.rank) return values[offset];
      const step = product(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * step));
    };
    return build(0, 0);
  }
}
