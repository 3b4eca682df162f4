/**
 * How much one set of values moved between two checkpoints. Accumulates over any number of value
 * ranges, so a layer's figures combine all its weights and a filter's figures are one slice.
 */
export interface ChangeMetrics {
  /** ||after - before|| / ||before|| (or / ||after|| when before is all zeros; 0 when both are). */
  relativeChange: number;
  maxAbsChange: number;
  /** Fraction of values exactly equal before and after. */
  unchangedFraction: number;
  /** Cosine similarity of before and after; null when either is all zeros or not finite. */
  cosine: number | null;
  normBefore: number;
  normAfter: number;
  /** ||after - before||. */
  normDelta: number;
  /** NaN or Inf values after (before's non-finite values are counted separately). */
  nonFiniteAfter: number;
  nonFiniteBefore: number;
  count: number;
}

export type Verdict = 'unchanged' | 'barely-changed' | 'changed' | 'exploded';

/** Relative change below which a weight counts as barely changed. */
export const BARELY_CHANGED_BELOW = 1e-4;
/** Norm growth above which a weight counts as exploded. */
export const EXPLODED_GROWTH = 100;

export class ChangeAccumulator {
  private sumDelta2 = 0;
  private sumBefore2 = 0;
  private sumAfter2 = 0;
  private dot = 0;
  private maxAbs = 0;
  private same = 0;
  private count = 0;
  private nonFiniteAfter = 0;
  private nonFiniteBefore = 0;

  /** Adds before[start..end) against after[start..end). */
  add(before: Float32Array, after: Float32Array, start = 0, end = before.length): this {
    for (let i = start; i < end; i++) {
      const b = before[i]!;
      const a = after[i]!;
      this.count++;
      if (!Number.isFinite(b)) {
        this.nonFiniteBefore++;
        if (Object.is(a, b)) this.same++;
        continue;
      }
      if (!Number.isFinite(a)) {
        this.nonFiniteAfter++;
        continue;
      }
      const d = a - b;
      if (d === 0) this.same++;
      const ad = Math.abs(d);
      if (ad > this.maxAbs) this.maxAbs = ad;
      this.sumDelta2 += d * d;
      this.sumBefore2 += b * b;
      this.sumAfter2 += a * a;
      this.dot += a * b;
    }
    return this;
  }

  merge(other: ChangeAccumulator): this {
    this.sumDelta2 += other.sumDelta2;
    this.sumBefore2 += other.sumBefore2;
    this.sumAfter2 += other.sumAfter2;
    this.dot += other.dot;
    this.maxAbs = Math.max(this.maxAbs, other.maxAbs);
    this.same += other.same;
    this.count += other.count;
    this.nonFiniteAfter += other.nonFiniteAfter;
    this.nonFiniteBefore += other.nonFiniteBefore;
    return this;
  }

  result(): ChangeMetrics {
    const normBefore = Math.sqrt(this.sumBefore2);
    const normAfter = Math.sqrt(this.sumAfter2);
    const normDelta = Math.sqrt(this.sumDelta2);
    const denominator = normBefore > 0 ? normBefore : normAfter;
    return {
      relativeChange: denominator > 0 ? normDelta / denominator : 0,
      maxAbsChange: this.maxAbs,
      unchangedFraction: this.count > 0 ? this.same / this.count : 1,
      cosine: normBefore > 0 && normAfter > 0 ? this.dot / (normBefore * normAfter) : null,
      normBefore,
      normAfter,
      normDelta,
      nonFiniteAfter: this.nonFiniteAfter,
      nonFiniteBefore: this.nonFiniteBefore,
      count: this.count,
    };
  }
}

/** The verdict for one set of figures. */
export function verdictOf(m: ChangeMetrics): Verdict {
  if (m.nonFiniteAfter > 0) return 'exploded';
  if (m.normBefore > 0 && m.normAfter > EXPLODED_GROWTH * m.normBefore) return 'exploded';
  if (m.unchangedFraction === 1) return 'unchanged';
  if (m.relativeChange < BARELY_CHANGED_BELOW) return 'barely-changed';
  return 'changed';
}

const SEVERITY: Record<Verdict, number> = { unchanged: 0, 'barely-changed': 1, changed: 2, exploded: 3 };

/** The most severe of several verdicts (exploded > changed > barely-changed > unchanged). */
export function worstVerdict(verdicts: readonly Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((w, v) => (SEVERITY[v] > SEVERITY[w] ? v : w), 'unchanged');
}
