import { filterIndexing, type FilterSet } from '../model/filters.js';

/** Below this |w| everywhere a filter is dead: drawn flat, never stretched by per-filter scaling. */
export const DEAD_THRESHOLD = 1e-12;

/** What the renderer found out about a layer's filters, independent of how they are drawn. */
export interface FilterAnalysis {
  filterCount: number;
  /** Largest finite |w| over the whole weight. */
  absMax: number;
  /** Largest finite |w| of each filter. */
  filterAbsMax: Float64Array;
  /** Filters with |w| < DEAD_THRESHOLD everywhere. */
  dead: number[];
  /** Live filters whose values are all equal (a constant initializer, or a filter that never moved). */
  constant: number[];
  /**
   * Every filter equals filter 0 (within 1e-6 of the weight's max |w|): a constant initializer such as
   * `ones` never breaks symmetry, so all filters learn the same thing. false for a single filter.
   */
  identical: boolean;
  /** NaN or infinite values (drawn in the warning colour). */
  nonFinite: number;
}

export function analyzeFilters(set: FilterSet): FilterAnalysis {
  const n = set.filterCount;
  const data = set.data;
  const { bases, filterOf } = filterIndexing(set);
  const stride = set.filterStrides[0]!;
  const filterAbsMax = new Float64Array(n);
  const first = Float32Array.from(bases, (b) => data[b]!);
  const varies = new Uint8Array(n);
  let nonFinite = 0;
  for (let i = 0, f = 0, k = 0; i < data.length; i++) {
    const g = filterOf ? filterOf[i]! : f;
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      nonFinite++;
      varies[g] = 1;
    } else {
      const a = Math.abs(v);
      if (a > filterAbsMax[g]!) filterAbsMax[g] = a;
      if (v !== first[g]) varies[g] = 1;
    }
    if (++k === stride) {
      k = 0;
      if (++f === n) f = 0;
    }
  }
  const dead: number[] = [];
  const constant: number[] = [];
  const perFilter = data.length / Math.max(1, n);
  for (let f = 0; f < n; f++) {
    if (filterAbsMax[f]! < DEAD_THRESHOLD) dead.push(f);
    else if (!varies[f] && perFilter > 1) constant.push(f);
  }
  const absMax = filterAbsMax.reduce((a, b) => Math.max(a, b), 0);
  const identical = n > 1 && allIdentical(data, bases, filterOf, stride, absMax * 1e-6);
  return { filterCount: n, absMax, filterAbsMax, dead, constant, identical, nonFinite };
}

/** Every value equals the value at the same place in filter 0 (storage index i - bases[f] + bases[0]). */
function allIdentical(data: Float32Array, bases: Float64Array, filterOf: Int32Array | undefined, stride: number, tolerance: number): boolean {
  const n = bases.length;
  for (let i = 0, f = 0, k = 0; i < data.length; i++) {
    const g = filterOf ? filterOf[i]! : f;
    if (!(Math.abs(data[i]! - data[i - bases[g]! + bases[0]!]!) <= tolerance)) return false;
    if (++k === stride) {
      k = 0;
      if (++f === n) f = 0;
    }
  }
  return true;
}

/** One sentence for the identical-filters warning, or undefined when the filters differ. */
export function identicalWarning(analysis: FilterAnalysis, layer: string): string | undefined {
  if (!analysis.identical) return undefined;
  return (
    `All ${analysis.filterCount} filters of '${layer}' are identical: a constant initializer (such as 'ones') ` +
    `never breaks symmetry, so every filter learns the same thing and the loss may never fall.`
  );
}
