import type { NamedTensor } from '../tensor/named-tensor.js';

export interface IdenticalFilters {
  /** Number of filters compared (the length of the `out` axis). */
  filters: number;
  /** Largest |w_j - w_0| over all filters j and positions: 0 when every filter is the same. */
  maxSpread: number;
  /** Largest |w| in the tensor, to judge the spread against. */
  absMax: number;
}

/**
 * All filters of a kernel equal? A constant initializer (Keras `ones`, `zeros`, `Constant`) gives
 * every filter the same gradient, so they stay identical forever: symmetry never breaks and the loss
 * barely falls. Returns the figures when the filters are identical to float32 precision
 * (spread <= 1e-6 of the largest weight), undefined otherwise or when there is no `out` axis.
 */
export function findIdenticalFilters(kernel: NamedTensor): IdenticalFilters | undefined {
  const filters = kernel.dim('out');
  if (filters === undefined || filters < 2) return undefined;
  const rest = kernel.axes.filter((a) => a !== 'out');
  const t = kernel.toAxes(['out', ...rest]).toFloat32();
  const per = t.length / filters;
  let maxSpread = 0;
  let absMax = 0;
  for (let i = 0; i < t.length; i++) absMax = Math.max(absMax, Math.abs(t[i]!));
  for (let j = 1; j < filters; j++) {
    for (let k = 0; k < per; k++) {
      const d = Math.abs(t[j * per + k]! - t[k]!);
      if (!(d <= maxSpread)) maxSpread = d;
    }
  }
  return maxSpread <= 1e-6 * absMax || maxSpread === 0 ? { filters, maxSpread, absMax } : undefined;
}
