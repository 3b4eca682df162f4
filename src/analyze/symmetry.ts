import { UnsupportedError } from '../model/errors.js';
import { analyzeFilters } from './filter-health.js';
import { filterSet } from '../model/filters.js';
import type { NamedTensor } from '../model/named-tensor.js';

export interface IdenticalFilters {
  /** Number of filters compared. */
  filters: number;
  /** Largest |w| of the kernel: the filters agree to within 1e-6 of it. */
  absMax: number;
}

/**
 * All filters of a kernel equal? A constant initializer (Keras `ones`, `zeros`, `Constant`) gives
 * every filter the same gradient, so they stay identical forever: symmetry never breaks and the loss
 * barely falls. The renderer's filter analysis decides (one implementation for pictures and
 * diagnoses); undefined when the filters differ or the tensor has no filters.
 */
export function findIdenticalFilters(kernel: NamedTensor): IdenticalFilters | undefined {
  let analysis;
  try {
    analysis = analyzeFilters(filterSet(kernel));
  } catch (e) {
    if (e instanceof UnsupportedError) return undefined;
    throw e;
  }
  return analysis.identical ? { filters: analysis.filterCount, absMax: analysis.absMax } : undefined;
}
