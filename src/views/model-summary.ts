import type { Layer, Model, Note, Weight } from '../model/model.js';
import type { TensorStats } from '../model/stats.js';
import { findIdenticalFilters } from '../analyze/symmetry.js';

export interface WeightSummary {
  name: string;
  /** Training-state tensors only: the layer whose variable an optimizer slot belongs to. */
  layer?: string;
  role: string;
  shape: number[];
  axes: string[];
  dtype: string;
  params: number;
  stats?: TensorStats;
  /** With stats: the number of filters when every filter of this kernel is identical (symmetry never broken). */
  identicalFilters?: number;
}

export interface LayerSummary {
  name: string;
  className: string;
  inbound: string[];
  trainable?: boolean;
  params: number;
  weights: WeightSummary[];
}

export interface ModelSummary {
  source: string;
  format: string;
  framework: string;
  frameworkVersion?: string;
  metadata?: Record<string, string>;
  notes?: Note[];
  layers: LayerSummary[];
  totalParams: number;
  /** Optimizer slots, counters and metric totals a checkpoint holds besides the weights (not in totalParams). */
  trainingState?: WeightSummary[];
}

/**
 * The model summary every surface shows: `inspect` prints it, the viewer's model and layer rows
 * (model-view.ts) count parameters with the same functions, so the numbers agree everywhere.
 */

export function weightParams(weight: Pick<Weight, 'shape'>): number {
  return weight.shape.reduce((a, b) => a * b, 1);
}

/** Parameters of a layer: every weight it stores. */
export function layerParams(layer: Pick<Layer, 'weights'>): number {
  return layer.weights.reduce((a, w) => a + weightParams(w), 0);
}

/** Parameters of a model (training state such as optimizer slots not counted). */
export function modelParams(model: Pick<Model, 'layers'>): number {
  return model.layers.reduce((a, l) => a + layerParams(l), 0);
}

async function summarizeWeight(weight: Weight, withStats: boolean): Promise<WeightSummary> {
  const out: WeightSummary = {
    name: weight.name,
    role: weight.role,
    shape: [...weight.shape],
    axes: [...weight.axes],
    dtype: weight.dtype,
    params: weightParams(weight),
  };
  if (withStats) {
    const tensor = await weight.read();
    out.stats = tensor.stats();
    const identical = weight.role.endsWith('kernel') ? findIdenticalFilters(tensor) : undefined;
    if (identical) out.identicalFilters = identical.filters;
  }
  return out;
}

async function summarizeLayer(layer: Layer, withStats: boolean): Promise<LayerSummary> {
  const weights: WeightSummary[] = [];
  for (const w of layer.weights) weights.push(await summarizeWeight(w, withStats));
  const out: LayerSummary = {
    name: layer.name,
    className: layer.className,
    inbound: [...layer.inbound],
    params: weights.reduce((a, w) => a + w.params, 0),
    weights,
  };
  if (layer.trainable !== undefined) out.trainable = layer.trainable;
  return out;
}

/**
 * Everything `inspect` shows, as plain data. With `stats`, every weight is read once, one at a time,
 * so memory stays at the size of the largest tensor.
 */
export async function summarizeModel(model: Model, options: { stats?: boolean } = {}): Promise<ModelSummary> {
  const layers: LayerSummary[] = [];
  for (const layer of model.layers) layers.push(await summarizeLayer(layer, options.stats ?? false));
  const out: ModelSummary = {
    source: model.source,
    format: model.format,
    framework: model.framework,
    layers,
    totalParams: layers.reduce((a, l) => a + l.params, 0),
  };
  if (model.frameworkVersion) out.frameworkVersion = model.frameworkVersion;
  if (model.metadata) out.metadata = { ...model.metadata };
  if (model.notes?.length) out.notes = [...model.notes];
  if (model.trainingState?.length) {
    out.trainingState = [];
    for (const w of model.trainingState) out.trainingState.push({ ...(await summarizeWeight(w, options.stats ?? false)), layer: w.layer });
  }
  return out;
}
