import type { AxisName } from '../model/axes.js';
import { formatCount } from '../model/format.js';
import type { Weight } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';

/** A matrix kernel over this many values is drawn as an overview of blocks rather than cell by cell. */
export const OVERVIEW_ABOVE = 4 * 1024 * 1024;
/** Most blocks along each side of an overview. */
const SIDE = 1024;
/** A weight read in parts for its overview is read about this many bytes of rows at a time. */
const SLAB_BYTES = 4 * 1024 * 1024;

export interface KernelOverview {
  /** The blocks as a smaller kernel with the same axis names (each value: its block's largest |w|, sign kept). */
  tensor: NamedTensor;
  /** What one cell of the picture stands for, for its caption. */
  note: string;
}

function hasOverview(axes: readonly AxisName[], shape: readonly number[]): boolean {
  return shape.length === 2 && shape[0]! * shape[1]! > OVERVIEW_ABOVE && axes.includes('in');
}

/**
 * The blocks of an overview, filled a run of whole rows at a time in storage order: each block keeps
 * its largest and smallest value (Math.max / Math.min carry no branch to mispredict on random weights,
 * and propagate NaN); at the end the one of larger magnitude is the block's value.
 */
class OverviewBlocks {
  private readonly b0: number;
  private readonly b1: number;
  private readonly m0: number;
  private readonly m1: number;
  private readonly hi: Float32Array;
  private readonly lo: Float32Array;

  constructor(
    private readonly axes: readonly AxisName[],
    private readonly shape: readonly [number, number],
  ) {
    const [n0, n1] = shape;
    this.b0 = Math.ceil(n0 / SIDE);
    this.b1 = Math.ceil(n1 / SIDE);
    this.m0 = Math.ceil(n0 / this.b0);
    this.m1 = Math.ceil(n1 / this.b1);
    this.hi = new Float32Array(this.m0 * this.m1).fill(-Infinity);
    this.lo = new Float32Array(this.m0 * this.m1).fill(Infinity);
  }

  /** Adds rows `first` .. `first + data.length / n1 - 1`, whose values `data` holds in C order. */
  addRows(data: Float32Array, first: number): void {
    const { b0, b1, m1, hi, lo } = this;
    const n1 = this.shape[1];
    const rows = data.length / n1;
    for (let r = 0; r < rows; r++) {
      const row = (((first + r) / b0) | 0) * m1;
      let at = r * n1;
      const rowEnd = at + n1;
      for (let cb = 0; cb < m1; cb++) {
        const end = Math.min(at + b1, rowEnd);
        let h = hi[row + cb]!;
        let l = lo[row + cb]!;
        for (; at < end; at++) {
          const v = data[at]!;
          h = Math.max(h, v);
          l = Math.min(l, v);
        }
        hi[row + cb] = h;
        lo[row + cb] = l;
      }
    }
  }

  finish(): KernelOverview {
    const { axes, b0, b1, m0, m1, hi, lo } = this;
    const out = new Float32Array(m0 * m1);
    for (let k = 0; k < out.length; k++) out[k] = hi[k]! >= -lo[k]! ? hi[k]! : lo[k]!;
    const filterAxis = axes.find((a) => a !== 'in')!;
    const dim = (axis: AxisName): number => this.shape[axes.indexOf(axis)]!;
    const blocks = (axis: AxisName): number => (axes[0] === axis ? b0 : b1);
    const note =
      `overview of all ${formatCount(dim(filterAxis))} ${filterAxis} x ${formatCount(dim('in'))} in: each cell is the largest-|w| value ` +
      `(sign kept) of a block of ${blocks(filterAxis)} ${filterAxis} x ${blocks('in')} in`;
    return { tensor: new NamedTensor(axes, [m0, m1], out), note };
  }
}

/**
 * The whole of a large Dense kernel ([in, units] or [units, in], any size) as at most 1024 x 1024 blocks:
 * each block's value is its entry of largest |w| with its sign, so the shared scale (the largest |w|)
 * and every outlier survive, and no filter or input is cut off. One pass in storage order.
 * Returns undefined for kernels that are not matrices or are small enough to draw cell by cell.
 */
export function kernelOverview(t: NamedTensor): KernelOverview | undefined {
  if (!hasOverview(t.axes, t.shape)) return undefined;
  const blocks = new OverviewBlocks(t.axes, t.shape as [number, number]);
  blocks.addRows(t.toFloat32(), 0);
  return blocks.finish();
}

/** What a surface draws for a kernel: the tensor itself, or for a large matrix its overview (`note` says so). */
export interface KernelPicture {
  tensor: NamedTensor;
  note?: string;
}

/**
 * Reads what to draw for a kernel. A large matrix becomes its overview; when its format reads a weight
 * in parts, the overview is built a slab of rows (about 4 MiB) at a time, so that drawing VGG16's
 * 392 MiB fc1 kernel never needs more than one slab of it. `dropped` is told the bytes of each slab
 * once it is no longer used (a caller that reclaims memory eagerly, as the CLI does, frees them).
 */
export async function readKernelPicture(weight: Weight, dropped?: (bytes: number) => void): Promise<KernelPicture> {
  if (!hasOverview(weight.axes, weight.shape) || !weight.readRows) {
    const tensor = await weight.read();
    const overview = kernelOverview(tensor);
    return overview ? { tensor: overview.tensor, note: overview.note } : { tensor };
  }
  const [rows, columns] = weight.shape as [number, number];
  const blocks = new OverviewBlocks(weight.axes, [rows, columns]);
  const step = Math.max(1, Math.floor(SLAB_BYTES / (4 * columns)));
  for (let start = 0; start < rows; start += step) {
    const slab = (await weight.readRows(start, Math.min(step, rows - start))).toFloat32();
    blocks.addRows(slab, start);
    dropped?.(slab.byteLength);
  }
  const overview = blocks.finish();
  return { tensor: overview.tensor, note: overview.note };
}
