import { filterValues, type FilterSet } from './tiles.js';

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
  const filterAbsMax = new Float64Array(n);
  const dead: number[] = [];
  const constant: number[] = [];
  let nonFinite = 0;
  for (let f = 0; f < n; f++) {
    const v = filterValues(set, f);
    let m = 0;
    let same = true;
    for (let i = 0; i < v.length; i++) {
      const x = v[i]!;
      if (!Number.isFinite(x)) {
        nonFinite++;
        same = false;
        continue;
      }
      const a = Math.abs(x);
      if (a > m) m = a;
      if (x !== v[0]) same = false;
    }
    filterAbsMax[f] = m;
    if (m < DEAD_THRESHOLD) dead.push(f);
    else if (same && v.length > 1) constant.push(f);
  }
  const absMax = filterAbsMax.reduce((a, b) => Math.max(a, b), 0);
  return { filterCount: n, absMax, filterAbsMax, dead, constant, identical: allIdentical(set, absMax * 1e-6), nonFinite };
}

function allIdentical(set: FilterSet, tolerance: number): boolean {
  if (set.filterCount < 2) return false;
  const first = filterValues(set, 0);
  for (let f = 1; f < set.filterCount; f++) {
    const v = filterValues(set, f);
    for (let i = 0; i < v.length; i++) {
      if (!(Math.abs(v[i]! - first[i]!) <= tolerance)) return false;
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
