import { layerParams, modelParams } from './model-summary.js';
import { readSlice, type WeightSlice } from '../analyze/slice.js';
import { SelectionError } from '../model/errors.js';
import { filterAxesOf, filterSelection, kernelOf } from '../model/filters.js';
import { findLayer } from '../model/lookup.js';
import type { Layer, Model, Note, Weight } from '../model/model.js';
import type { NamedTensor } from '../model/named-tensor.js';
import { encodeNpy } from '../model/npy.js';
import { DEFAULT_BINS } from '../render/choices.js';
import { histogram } from '../render/histogram.js';
import type { TensorStats } from '../model/stats.js';

/**
 * What the viewer shows, as plain JSON-able data computed by library calls. The server sends these
 * objects; in the browser (a dropped file, a report) the client calls the same functions itself.
 */
export interface ModelInfo {
  id: number;
  name: string;
  format: string;
  framework: string;
  frameworkVersion?: string;
  totalParams: number;
  layerCount: number;
  notes: Note[];
}

export interface LayerRow {
  name: string;
  className: string;
  kind: string;
  /** Output shape without the batch axis (null = any length), where the architecture tells it. */
  outputShape?: (number | null)[];
  params: number;
  hasWeights: boolean;
  /** The weight drawn as filters (role) and its shape/axes, when the layer has one. */
  kernel?: { role: string; shape: number[]; axes: string[] };
  /** Number of filters in the kernel (slices along `out`, `units`, or `in x mult`). */
  filterCount?: number;
  parents?: string[];
}

export interface Matrix {
  rows: number;
  cols: number;
  /** Row-major values; non-finite values are sent as null (JSON has no NaN). */
  values: (number | null)[];
}

export interface FilterDetail {
  layer: string;
  weight: string;
  filter: number;
  channel: number;
  /** Whether the matrix is one input channel of the filter (conv kernels) rather than the whole filter (Dense, depthwise). */
  perChannel: boolean;
  channelCount: number;
  /** Every input channel of the filter as a matrix (for the thumbnails), in channel order. */
  channels: Matrix[];
  /** Largest |w| over the whole filter: the symmetric scale of the thumbnails and the matrix. */
  scale: number;
  /** The selected channel's slice. */
  matrix: Matrix;
  stats: JsonStats;
  /** `kernel[:, :, 0, 6]` in the file's framework. */
  expression: string;
  what: string;
  axes: string[];
  shape: number[];
}

type JsonStats = { [K in keyof TensorStats]: number | null };

/** A JSON-safe number: NaN and infinities become null. */
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

function jsonStats(s: TensorStats): JsonStats {
  const out = {} as JsonStats;
  for (const [k, v] of Object.entries(s) as [keyof TensorStats, number][]) out[k] = finite(v);
  return out;
}

export function modelInfo(model: Model, id: number): ModelInfo {
  const out: ModelInfo = {
    id,
    name: model.source.split(/[\\/]/).pop() ?? model.source,
    format: model.format,
    framework: model.framework,
    totalParams: modelParams(model),
    layerCount: model.layers.length,
    notes: [...(model.notes ?? [])],
  };
  if (model.frameworkVersion) out.frameworkVersion = model.frameworkVersion;
  return out;
}

function batchlessShape(value: unknown): (number | null)[] | undefined {
  if (!Array.isArray(value) || value.length < 2) return undefined;
  if (!value.every((v) => v === null || typeof v === 'number')) return undefined;
  return (value as (number | null)[]).slice(1);
}

/** The output shape a layer's config states, where it does (input layers: `batch_input_shape`). */
function configOutputShape(layer: Layer): (number | null)[] | undefined {
  const c = layer.config;
  return batchlessShape(c['batch_output_shape']) ?? (layer.className === 'InputLayer' ? batchlessShape(c['batch_input_shape'] ?? c['batch_shape']) : undefined);
}

/** One row per layer; `outputShapes` (from running the architecture) fills in shapes the config lacks. */
export function layerRows(model: Model, outputShapes: ReadonlyMap<string, (number | null)[]> = new Map()): LayerRow[] {
  return model.layers.map((layer) => {
    const row: LayerRow = {
      name: layer.name,
      className: layer.className,
      kind: layer.kind,
      params: layerParams(layer),
      hasWeights: layer.weights.length > 0,
    };
    const shape = outputShapes.get(layer.name) ?? configOutputShape(layer);
    if (shape) row.outputShape = shape;
    const kernel = kernelOf(layer);
    if (kernel) {
      row.kernel = { role: kernel.role, shape: [...kernel.shape], axes: [...kernel.axes] };
      const n = filterAxesOf(kernel)?.count;
      if (n !== undefined) row.filterCount = n;
    }
    if (layer.parents?.length) row.parents = [...layer.parents];
    return row;
  });
}

/** A slice of rank 0-3 as a matrix: rank 1 is one row; rank 3 (kd, kh, kw) stacks depth slices vertically. */
function toMatrix(t: NamedTensor): Matrix {
  const values = Array.from(t.toFloat32(), finite);
  if (t.rank <= 1) return { rows: 1, cols: t.rank === 0 ? 1 : t.shape[0]!, values };
  const cols = t.shape[t.rank - 1]!;
  return { rows: values.length / cols, cols, values };
}

/** Filter j (and input channel c) of a layer's kernel: the very slice `convscope weights --filter j --channel c` reads. */
async function readFilterSlice(model: Model, layerName: string, filter: number, channel?: number): Promise<WeightSlice> {
  const layer = findLayer(model, layerName);
  if (!kernelOf(layer)) throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no kernel to draw filters from.`);
  return readSlice(model, { layer: layer.name, filter, ...(channel !== undefined ? { channel } : {}) });
}

/** Everything the filter panel shows: channel thumbnails, the chosen channel's values, statistics, expression. */
export async function filterDetail(model: Model, layerName: string, filter: number, channel = 0): Promise<FilterDetail> {
  const layer = findLayer(model, layerName);
  const weight = kernelOf(layer);
  if (!weight) throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no kernel to draw filters from.`);
  const whole = (await weight.read()).select(filterSelection(weight, filter, undefined, { layer: layer.name, role: weight.role }));
  const hasChannels = whole.axes.includes('in') && whole.rank > 1;
  const channelCount = hasChannels ? whole.dim('in')! : 1;
  const channels = hasChannels ? Array.from({ length: channelCount }, (_, c) => toMatrix(whole.select({ in: c }))) : [toMatrix(whole)];
  const slice = await readFilterSlice(model, layerName, filter, hasChannels ? channel : undefined);
  return {
    layer: layer.name,
    weight: weight.role,
    filter,
    channel: hasChannels ? channel : 0,
    perChannel: hasChannels,
    channelCount,
    channels,
    scale: whole.stats().absMax,
    matrix: toMatrix(slice.tensor),
    stats: jsonStats(slice.tensor.stats()),
    expression: slice.expression,
    what: slice.what,
    axes: [...slice.tensor.axes],
    shape: [...slice.tensor.shape],
  };
}

/** The .npy bytes of a filter slice and a file name for the download. */
export async function filterNpy(model: Model, layerName: string, filter: number, channel?: number): Promise<{ name: string; bytes: Uint8Array }> {
  const slice = await readFilterSlice(model, layerName, filter, channel);
  const safe = slice.layer.name.replace(/[^\w.-]+/g, '_');
  const suffix = slice.selection.in !== undefined && channel !== undefined ? `_in${channel}` : '';
  return { name: `${safe}_filter${filter}${suffix}.npy`, bytes: slice.tensor.toNpy() };
}

export interface WeightHistogram {
  weight: string;
  shape: number[];
  /** Lower edge of the first bin and upper edge of the last (NumPy's np.histogram edges). */
  min: number;
  max: number;
  counts: number[];
  stats: JsonStats;
}

/** A histogram of every weight of a layer (read one at a time). */
export async function layerHistograms(model: Model, layerName: string, bins = DEFAULT_BINS): Promise<WeightHistogram[]> {
  return layerHistogramsOf(findLayer(model, layerName), bins);
}

/**
 * A histogram of every weight of a layer (read one at a time). `alsoWith` sees each weight's values
 * while they are read, so a caller that draws them too never reads a big weight twice.
 */
export async function layerHistogramsOf(layer: Layer, bins = DEFAULT_BINS, alsoWith?: (weight: Weight, values: NamedTensor) => void): Promise<WeightHistogram[]> {
  const out: WeightHistogram[] = [];
  for (const weight of layer.weights) {
    const values = await weight.read();
    const h = histogram(values.data, bins);
    out.push({ weight: weight.role, shape: [...weight.shape], min: h.edges[0]!, max: h.edges[bins]!, counts: h.counts, stats: jsonStats(h.stats) });
    alsoWith?.(weight, values);
  }
  return out;
}

/** The whole kernel of a layer as .npy (the client draws its grid from it). */
export async function kernelNpy(model: Model, layerName: string): Promise<Uint8Array> {
  const layer = findLayer(model, layerName);
  const weight = kernelOf(layer);
  if (!weight) throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no kernel to draw filters from.`);
  const t = await weight.read();
  return encodeNpy(t.toFloat32(), t.shape);
}
