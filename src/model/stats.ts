import type { TensorData } from './dtype.js';

export interface TensorStats {
  count: number;
  /** min / max / mean / std over the finite values; NaN when there are none. */
  min: number;
  max: number;
  mean: number;
  std: number;
  /** Largest |value| over the finite values (0 for an empty tensor). */
  absMax: number;
  /** L2 norm over the finite values. */
  norm: number;
  zeros: number;
  nan: number;
  inf: number;
}

/**
 * Statistics of a tensor. Float tensors take two passes with no division per value (range, counts and
 * sums, then the squared deviations from the mean, which is as accurate as Welford's update and ~4x
 * faster: a 25088 x 4096 kernel in a fraction of a second); other dtypes take Welford's one pass.
 */
export function tensorStats(data: TensorData): TensorStats {
  if (data instanceof Float32Array || data instanceof Float64Array) return floatStats(data);
  let min = Infinity;
  let max = -Infinity;
  let mean = 0;
  let m2 = 0;
  let finite = 0;
  let zeros = 0;
  let nan = 0;
  let inf = 0;
  let sumSq = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = Number(data[i]);
    if (v !== v) {
      nan++;
      continue;
    }
    if (v === Infinity || v === -Infinity) {
      inf++;
      continue;
    }
    if (v === 0) zeros++;
    if (v < min) min = v;
    if (v > max) max = v;
    finite++;
    const d = v - mean;
    mean += d / finite;
    m2 += d * (v - mean);
    sumSq += v * v;
  }
  return finish({ count: n, finite, min, max, mean, m2, sumSq, zeros, nan, inf });
}

/** The statistics from one tensor's sums: `m2` is the sum of squared deviations from `mean`. */
function finish(s: { count: number; finite: number; min: number; max: number; mean: number; m2: number; sumSq: number; zeros: number; nan: number; inf: number }): TensorStats {
  const { count, finite, min, max, zeros, nan, inf } = s;
  if (finite === 0) return { count, min: NaN, max: NaN, mean: NaN, std: NaN, absMax: 0, norm: 0, zeros, nan, inf };
  return {
    count,
    min,
    max,
    mean: s.mean,
    std: Math.sqrt(s.m2 / finite),
    absMax: Math.max(Math.abs(min), Math.abs(max)),
    norm: Math.sqrt(s.sumSq),
    zeros,
    nan,
    inf,
  };
}

function floatStats(data: Float32Array | Float64Array): TensorStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSq = 0;
  let zeros = 0;
  let notFinite = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    // v - v is 0 for finite values and NaN for NaN and +-Inf: one test sets those aside.
    if (v - v !== 0) {
      notFinite++;
      continue;
    }
    if (v === 0) zeros++;
    min = v < min ? v : min;
    max = v > max ? v : max;
    sum += v;
    sumSq += v * v;
  }
  let nan = 0;
  if (notFinite > 0) for (let i = 0; i < n; i++) if (data[i] !== data[i]) nan++;
  const finite = n - notFinite;
  const mean = sum / finite;
  let m2 = 0;
  if (finite > 0) {
    for (let i = 0; i < n; i++) {
      const d = data[i]! - mean;
      if (d - d === 0) m2 += d * d;
    }
  }
  return finish({ count: n, finite, min, max, mean, m2, sumSq, zeros, nan, inf: notFinite - nan });
}
