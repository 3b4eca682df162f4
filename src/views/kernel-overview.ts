import type { AxisName } from '../model/axes.js';
import { formatCount } from '../model/format.js';
import { NamedTensor } from '../model/named-tensor.js';

/** A matrix kernel over this many values is drawn as an overview of blocks rather than cell by cell. */
export const OVERVIEW_ABOVE = 4 * 1024 * 1024;
/** Most blocks along each side of an overview. */
const SIDE = 1024;

export interface KernelOverview {
  /** The blocks as a smaller kernel with the same axis names (each value: its block's largest |w|, sign kept). */
  tensor: NamedTensor;
  /** What one cell of the picture stands for, for its caption. */
  note: string;
}

/**
 * The whole of a large Dense kernel ([in, units] or [units, in], any size) as at most 1024 x 1024 blocks:
 * each block's value is its entry of largest |w| with its sign, so the shared scale (the largest |w|)
 * and every outlier survive, and no filter or input is cut off. One pass in storage order.
 * Returns undefined for kernels that are not matrices or are small enough to draw cell by cell.
 */
export function kernelOverview(t: NamedTensor): KernelOverview | undefined {
  if (t.rank !== 2 || t.size <= OVERVIEW_ABOVE || !t.axes.includes('in')) return undefined;
  const filterAxis = t.axes.find((a) => a !== 'in')! as AxisName;
  const [n0, n1] = t.shape as [number, number];
  const b0 = Math.ceil(n0 / SIDE);
  const b1 = Math.ceil(n1 / SIDE);
  const m0 = Math.ceil(n0 / b0);
  const m1 = Math.ceil(n1 / b1);
  // Each block's largest and smallest value (Math.max / Math.min carry no branch to mispredict on
  // random weights, and propagate NaN); the one of larger magnitude is the block's value.
  const hi = new Float32Array(m0 * m1).fill(-Infinity);
  const lo = new Float32Array(m0 * m1).fill(Infinity);
  const data = t.toFloat32();
  for (let i = 0; i < n0; i++) {
    const row = ((i / b0) | 0) * m1;
    let at = i * n1;
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
  const out = new Float32Array(m0 * m1);
  for (let k = 0; k < out.length; k++) out[k] = hi[k]! >= -lo[k]! ? hi[k]! : lo[k]!;
  const blocks = (axis: AxisName): number => (t.axes[0] === axis ? b0 : b1);
  const note =
    `overview of all ${formatCount(t.dim(filterAxis)!)} ${filterAxis} x ${formatCount(t.dim('in')!)} in: each cell is the largest-|w| value ` +
    `(sign kept) of a block of ${blocks(filterAxis)} ${filterAxis} x ${blocks('in')} in`;
  return { tensor: new NamedTensor(t.axes, [m0, m1], out), note };
}
