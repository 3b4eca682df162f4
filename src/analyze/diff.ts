import type { AxisName } from '../model/axes.js';
import { SelectionError } from '../model/errors.js';
import { findLayer } from '../model/lookup.js';
import type { Layer, Model, Weight } from '../model/model.js';
import type { NamedTensor } from '../model/named-tensor.js';
import { ChangeAccumulator, verdictOf, worstVerdict, type ChangeMetrics, type Verdict } from './change.js';
import { diagnose } from './diagnose.js';
import { findIdenticalFilters, type IdenticalFilters } from './symmetry.js';
import { filterAxesOf } from '../model/filters.js';

export interface FilterChange extends ChangeMetrics {
  filter: number;
  verdict: Verdict;
}

export interface WeightDiff extends ChangeMetrics {
  /** The weight's role (kernel, bias, ...). */
  weight: string;
  beforeName: string;
  afterName: string;
  shape: number[];
  axes: AxisName[];
  verdict: Verdict;
  /** Per filter (filter j as model/filters.ts defines it), most changed first; empty for weights that number no filters. */
  filters: FilterChange[];
  /** Set when every filter of the kernel is identical after training. */
  identicalAfter?: IdenticalFilters;
  /** Set when every filter of the kernel was identical before training. */
  identicalBefore?: IdenticalFilters;
}

export interface LayerDiff extends ChangeMetrics {
  name: string;
  /** The matching layer's name in the after model (differs when aligned by order and shape). */
  afterName: string;
  className: string;
  alignedBy: 'name' | 'order-and-shape';
  trainable?: boolean;
  verdict: Verdict;
  weights: WeightDiff[];
}

export interface ModelDiff {
  before: string;
  after: string;
  layers: LayerDiff[];
  onlyBefore: string[];
  onlyAfter: string[];
  /** Facts about the alignment the user should know (renames, weights missing on one side). */
  notes: string[];
  summary: { verdict: Verdict; diagnosis: string[] };
}

export interface DiffOptions {
  /** Only this layer (by its name in the before model). */
  layer?: string;
  /** Learning rate and input scale, where the caller knows them (e.g. from training metadata). */
  training?: { learningRate?: number; inputScale?: string };
}

/** Shape of a weight independent of layout: sorted `axis=length` pairs, so Keras and PyTorch kernels match. */
function layoutFreeShape(w: Weight): string {
  return w.axes
    .map((a, i) => `${a}=${w.shape[i]}`)
    .sort()
    .join(',');
}

function signature(layer: Layer): string {
  return layer.weights
    .map((w) => `${w.role}:${layoutFreeShape(w)}`)
    .sort()
    .join(';');
}

interface Pair {
  before: Layer;
  after: Layer;
  alignedBy: LayerDiff['alignedBy'];
}

/** Pairs layers by name, then the rest by order and layout-free weight shapes. */
export function alignLayers(before: Model, after: Model): { pairs: Pair[]; onlyBefore: Layer[]; onlyAfter: Layer[] } {
  const b = before.layers.filter((l) => l.weights.length > 0);
  const a = after.layers.filter((l) => l.weights.length > 0);
  const afterByName = new Map(a.map((l) => [l.name, l]));
  const matched = new Set<Layer>();
  const pairs: Pair[] = [];
  const unmatchedBefore: Layer[] = [];
  for (const layer of b) {
    const twin = afterByName.get(layer.name);
    if (twin && signature(twin) === signature(layer)) {
      pairs.push({ before: layer, after: twin, alignedBy: 'name' });
      matched.add(twin);
    } else {
      unmatchedBefore.push(layer);
    }
  }
  const unmatchedAfter = a.filter((l) => !matched.has(l));
  const onlyBefore: Layer[] = [];
  let cursor = 0;
  for (const layer of unmatchedBefore) {
    const sig = signature(layer);
    const k = unmatchedAfter.findIndex((l, i) => i >= cursor && signature(l) === sig);
    if (k < 0) {
      onlyBefore.push(layer);
      continue;
    }
    pairs.push({ before: layer, after: unmatchedAfter[k]!, alignedBy: 'order-and-shape' });
    matched.add(unmatchedAfter[k]!);
    cursor = k + 1;
  }
  const order = new Map(b.map((l, i) => [l, i]));
  pairs.sort((x, y) => order.get(x.before)! - order.get(y.before)!);
  return { pairs, onlyBefore, onlyAfter: a.filter((l) => !matched.has(l)) };
}

/**
 * Both tensors with the axes that number filters first (model/filters.ts: out, units, or in then mult
 * for depthwise, so that filter j = c * mult + m is the j-th contiguous block), then the before tensor's
 * remaining axes in order.
 */
function commonLayout(before: NamedTensor, after: NamedTensor): [NamedTensor, NamedTensor] {
  const kind = filterAxesOf(before)?.kind;
  const first: AxisName[] = kind === undefined ? [] : kind === 'in x mult' ? ['in', 'mult'] : [kind];
  const order = [...first, ...before.axes.filter((x) => !first.includes(x))];
  return [before.toAxes(order), after.toAxes(order)];
}

async function diffWeight(wb: Weight, wa: Weight): Promise<{ diff: WeightDiff; acc: ChangeAccumulator }> {
  const [tb, ta] = commonLayout(await wb.read(), await wa.read());
  const before = tb.toFloat32();
  const after = ta.toFloat32();
  const acc = new ChangeAccumulator().add(before, after);
  const metrics = acc.result();
  const filters: FilterChange[] = [];
  const count = filterAxesOf(tb)?.count;
  if (count !== undefined && count > 0) {
    const per = before.length / count;
    for (let j = 0; j < count; j++) {
      const m = new ChangeAccumulator().add(before, after, j * per, (j + 1) * per).result();
      filters.push({ filter: j, ...m, verdict: verdictOf(m) });
    }
    filters.sort((x, y) => y.relativeChange - x.relativeChange || x.filter - y.filter);
  }
  const diff: WeightDiff = {
    weight: wb.role,
    beforeName: wb.name,
    afterName: wa.name,
    shape: [...wb.shape],
    axes: [...wb.axes],
    ...metrics,
    verdict: verdictOf(metrics),
    filters,
  };
  if (tb.rank > 1) {
    const identicalBefore = findIdenticalFilters(tb);
    const identicalAfter = findIdenticalFilters(ta);
    if (identicalBefore) diff.identicalBefore = identicalBefore;
    if (identicalAfter) diff.identicalAfter = identicalAfter;
  }
  return { diff, acc };
}

async function diffLayer(pair: Pair, notes: string[]): Promise<LayerDiff> {
  const weights: WeightDiff[] = [];
  const total = new ChangeAccumulator();
  for (const wb of pair.before.weights) {
    const wa = pair.after.weights.find((w) => w.role === wb.role);
    if (!wa) {
      notes.push(`Weight '${wb.role}' of layer '${pair.before.name}' has no counterpart in the after model.`);
      continue;
    }
    const { diff, acc } = await diffWeight(wb, wa);
    weights.push(diff);
    total.merge(acc);
  }
  const metrics = total.result();
  // A weight that started at zero (a bias) has no scale of its own: measure its change against the layer's.
  for (const w of weights) {
    if (w.normBefore === 0 && metrics.normBefore > 0) {
      w.relativeChange = w.normDelta / metrics.normBefore;
      w.verdict = verdictOf(w);
    }
  }
  const verdicts = weights.map((w) => w.verdict);
  const layer: LayerDiff = {
    name: pair.before.name,
    afterName: pair.after.name,
    className: pair.before.className,
    alignedBy: pair.alignedBy,
    ...metrics,
    verdict: verdicts.includes('exploded') ? 'exploded' : verdictOf(metrics),
    weights,
  };
  const trainable = pair.after.trainable ?? pair.before.trainable;
  if (trainable !== undefined) layer.trainable = trainable;
  return layer;
}

/**
 * Compares two checkpoints of the same architecture, possibly saved in different formats. Weights
 * are read one pair at a time, so memory stays at two tensors.
 */
export async function diffModels(before: Model, after: Model, options: DiffOptions = {}): Promise<ModelDiff> {
  const aligned = alignLayers(before, after);
  let pairs = aligned.pairs;
  if (options.layer !== undefined) {
    const wanted = findLayer(before, options.layer);
    pairs = pairs.filter((p) => p.before === wanted);
    if (pairs.length === 0) {
      if (wanted.weights.length === 0) throw new SelectionError(`Layer '${wanted.name}' (${wanted.className}) has no weights to compare.`);
      const twin = findLayer(after, options.layer);
      throw new SelectionError(
        `Layer '${wanted.name}' cannot be compared: its weights in ${after.source} (${twin.weights.map((w) => `${w.role} (${w.shape.join(', ')})`).join(', ') || 'none'}) ` +
          `do not match ${before.source} (${wanted.weights.map((w) => `${w.role} (${w.shape.join(', ')})`).join(', ')}).`,
      );
    }
  }
  const notes: string[] = [];
  const renamed = pairs.filter((p) => p.alignedBy === 'order-and-shape');
  if (renamed.length > 0) {
    notes.push(
      `Layer names differ, so these were aligned by order and weight shapes: ${renamed.map((p) => `${p.before.name} -> ${p.after.name}`).join(', ')}.`,
    );
  }
  const layers: LayerDiff[] = [];
  for (const pair of pairs) layers.push(await diffLayer(pair, notes));
  const onlyBefore = options.layer === undefined ? aligned.onlyBefore.map((l) => l.name) : [];
  const onlyAfter = options.layer === undefined ? aligned.onlyAfter.map((l) => l.name) : [];
  for (const name of onlyBefore.filter((n) => onlyAfter.includes(n))) {
    notes.push(`Layer '${name}' exists in both models with different weight shapes, so it was not compared.`);
  }
  const verdict = worstVerdict(layers.map((l) => l.verdict));
  return {
    before: before.source,
    after: after.source,
    layers,
    onlyBefore,
    onlyAfter,
    notes,
    summary: { verdict, diagnosis: diagnose(layers, verdict, { framework: after.framework, ...options.training }) },
  };
}

/** The `--json` shape: one row per weight, plus the summary. */
export function diffToJson(diff: ModelDiff): unknown {
  return {
    before: diff.before,
    after: diff.after,
    layers: diff.layers.flatMap((l) =>
      l.weights.map((w) => ({
        name: l.name,
        afterName: l.afterName,
        alignedBy: l.alignedBy,
        weight: w.weight,
        relativeChange: w.relativeChange,
        maxAbsChange: w.maxAbsChange,
        unchangedFraction: w.unchangedFraction,
        cosine: w.cosine,
        verdict: w.verdict,
        layerVerdict: l.verdict,
        topFilters: w.filters.slice(0, 5).map((f) => ({ filter: f.filter, relativeChange: f.relativeChange, verdict: f.verdict })),
      })),
    ),
    onlyBefore: diff.onlyBefore,
    onlyAfter: diff.onlyAfter,
    notes: diff.notes,
    summary: diff.summary,
  };
}
