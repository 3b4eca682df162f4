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

/** Statistics in one pass (Welford for mean and variance, so large tensors stay accurate). */
export function tensorStats(data: TensorData): TensorStats {
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
  if (finite === 0) {
    return { count: n, min: NaN, max: NaN, mean: NaN, std: NaN, absMax: 0, norm: 0, zeros, nan, inf };
  }
  return {
    count: n,
    min,
    max,
    mean,
    std: Math.sqrt(m2 / finite),
    absMax: Math.max(Math.abs(min), Math.abs(max)),
    norm: Math.sqrt(sumSq),
    zeros,
    nan,
    inf,
  };
}
