import type { AxisName, LayerKind } from '../model/axes.js';
import { DTYPE_BYTES, floatToHalf, type DType } from '../model/dtype.js';
import { UsageError } from '../model/errors.js';
import { onnxGraph, type OnnxGraph } from '../formats/onnx-graph.js';
import { baseName, type FormatId, type Framework, type Layer, type Model, type Note, type Weight } from '../model/model.js';
import { toBase64 } from '../render/scene-svg.js';
import { NamedTensor } from '../model/named-tensor.js';
import { decodeNpy, encodeNpy } from '../model/npy.js';
import { formatAxes, formatBytes, formatShape } from '../model/format.js';
import { filterFigure } from '../render/filters.js';
import { kernelOverview } from '../views/kernel-overview.js';
import { kernelOf } from '../model/filters.js';
import { layerHistogramsOf, type WeightHistogram } from '../views/model-view.js';
import { DEFAULT_MAX_WEIGHT_BYTES } from './choices.js';

/**
 * A model written into a report: every weight as base64 .npy with its axis names, so the report's
 * page rebuilds the same Model in memory and draws every view offline with the library's own code.
 * Small weights are exact; float32 weights over `halfAbove` bytes are stored in half precision (about 3
 * significant digits), which halves them; weights over `maxWeightBytes` are left out, their layer
 * carrying a picture of the kernel and the histograms instead. Each decision is a note in the report.
 */
export interface EmbeddedWeight {
  name: string;
  role: string;
  axes: AxisName[];
  shape: number[];
  dtype: DType;
  /** base64 .npy; absent when the weight was left out of the report. */
  npy?: string;
  /** 'float16' when the values were rounded to half precision for the report. */
  stored?: 'float16';
}

export interface EmbeddedLayer {
  name: string;
  className: string;
  kind: LayerKind;
  config: Record<string, unknown>;
  inbound: string[];
  trainable?: boolean;
  parents?: string[];
  weights: EmbeddedWeight[];
  /** For a layer whose weights were left out: the kernel's filter figure (PNG data: URI) and every weight's histogram. */
  picture?: string;
  histograms?: WeightHistogram[];
}

export interface EmbeddedModel {
  source: string;
  format: FormatId;
  framework: Framework;
  frameworkVersion?: string;
  notes: Note[];
  outputShapes: Record<string, (number | null)[]>;
  /** An ONNX model's operator graph (nodes, inputs, outputs, constant shapes; not the file's bytes), so the report draws the same graph as the viewer. */
  onnx?: Omit<OnnxGraph, 'bytes'>;
  layers: EmbeddedLayer[];
}

/** float32 weights over this many bytes are embedded in half precision. */
export const DEFAULT_HALF_ABOVE_BYTES = 256 * 1024;

export interface EmbedOptions {
  maxWeightBytes?: number;
  halfAbove?: number;
}

/** What embedding decided for one model, for its notes. */
export interface EmbedTally {
  left: string[];
  halved: string[];
}

function halfNpy(t: NamedTensor): Uint8Array {
  const values = t.toFloat32();
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = floatToHalf(values[i]!);
  return encodeNpy(bits, t.shape, 'float16');
}

/**
 * One layer as the report stores it, reading its weights one at a time: the memory a report needs is
 * bounded by its largest weight, never the whole model.
 */
export async function embedLayer(layer: Layer, options: EmbedOptions, tally: EmbedTally): Promise<EmbeddedLayer> {
  const max = options.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES;
  const halfAbove = options.halfAbove ?? DEFAULT_HALF_ABOVE_BYTES;
  const weights: EmbeddedWeight[] = [];
  let leftOut = false;
  for (const w of layer.weights) {
    const bytes = w.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[w.dtype];
    const entry: EmbeddedWeight = { name: w.name, role: w.role, axes: [...w.axes], shape: [...w.shape], dtype: w.dtype };
    if (bytes > max) {
      tally.left.push(`${layer.name}/${w.role} (${formatBytes(bytes)})`);
      leftOut = true;
    } else if (bytes > halfAbove && (w.dtype === 'float32' || w.dtype === 'float64')) {
      entry.npy = toBase64(halfNpy(await w.read()));
      entry.stored = 'float16';
      tally.halved.push(`${layer.name}/${w.role}`);
    } else {
      entry.npy = toBase64((await w.read()).toNpy());
    }
    weights.push(entry);
  }
  const out: EmbeddedLayer = {
    name: layer.name,
    className: layer.className,
    kind: layer.kind,
    config: { ...layer.config },
    inbound: [...layer.inbound],
    ...(layer.trainable === undefined ? {} : { trainable: layer.trainable }),
    ...(layer.parents?.length ? { parents: [...layer.parents] } : {}),
    weights,
  };
  if (leftOut) {
    // The kernel is read once, for its histogram and its picture: memory stays within one copy of it.
    const kernel = kernelOf(layer);
    out.histograms = await layerHistogramsOf(layer, undefined, (weight, values) => {
      if (!kernel || weight !== kernel) return;
      const overview = kernelOverview(values);
      const figure = filterFigure(overview?.tensor ?? values, {
        layer: layer.name,
        title: `${layer.name} ${kernel.role} ${formatShape(kernel.shape)} ${formatAxes(kernel.axes)}`,
        ...(overview ? { notes: [overview.note] } : {}),
      });
      out.picture = `data:image/png;base64,${toBase64(figure.png())}`;
    });
  }
  return out;
}

/** The notes a report adds to a model's own: which weights were rounded or left out, and why. */
export function embedNotes(tally: EmbedTally, options: EmbedOptions): Note[] {
  const notes: Note[] = [];
  if (tally.halved.length > 0) {
    notes.push({
      text: `Stored in half precision to keep this report small (values rounded to about 3 significant digits; each over ${formatBytes(options.halfAbove ?? DEFAULT_HALF_ABOVE_BYTES)}): ${tally.halved.join(', ')}.`,
    });
  }
  if (tally.left.length > 0) {
    notes.push({
      text: `Left out of this report (each over ${formatBytes(options.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES)}, the report's weight size limit), shown as a picture and histograms only: ${tally.left.join(', ')}.`,
      concept: 'weight-limit',
    });
  }
  return notes;
}

/** A whole model embedded at once (small models, tests); reports stream layer by layer with embedLayer. */
export async function embedModel(model: Model, outputShapes: ReadonlyMap<string, (number | null)[]> = new Map(), options: EmbedOptions = {}): Promise<EmbeddedModel> {
  const tally: EmbedTally = { left: [], halved: [] };
  const layers: EmbeddedLayer[] = [];
  for (const layer of model.layers) layers.push(await embedLayer(layer, options, tally));
  return { ...modelHeader(model, outputShapes), notes: [...(model.notes ?? []), ...embedNotes(tally, options)], layers };
}

/** The graph as a report stores it: the structure, not the file (a report never runs the model). */
function withoutBytes({ bytes: _bytes, ...structure }: OnnxGraph): Omit<OnnxGraph, 'bytes'> {
  return structure;
}

/** Everything of an embedded model but its layers and notes; the model is named by its file name, as a shared file should. */
export function modelHeader(model: Model, outputShapes: ReadonlyMap<string, (number | null)[]>): Omit<EmbeddedModel, 'layers' | 'notes'> {
  const graph = onnxGraph(model);
  return {
    source: baseName(model.source),
    format: model.format,
    framework: model.framework,
    ...(model.frameworkVersion ? { frameworkVersion: model.frameworkVersion } : {}),
    outputShapes: Object.fromEntries(outputShapes),
    ...(graph ? { onnx: withoutBytes(graph) } : {}),
  };
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function restoreWeight(e: EmbeddedWeight, layer: string): Weight {
  let tensor: NamedTensor | undefined;
  return {
    name: e.name,
    role: e.role,
    shape: e.shape,
    axes: e.axes,
    dtype: e.dtype,
    layer,
    read: async () => {
      if (e.npy === undefined) {
        throw new UsageError(`Weight '${e.role}' of layer '${layer}' was left out of this report because of its size; open the model with convscope serve instead.`);
      }
      if (!tensor) {
        const npy = decodeNpy(fromBase64(e.npy), `${layer}/${e.role}`);
        tensor = new NamedTensor(e.axes, npy.shape, npy.data);
      }
      return tensor;
    },
  };
}

/** The Model an embedded model describes (each weight decoded on first read). */
export function restoreModel(e: EmbeddedModel): Model {
  const layers: Layer[] = e.layers.map((l) => ({
    name: l.name,
    className: l.className,
    kind: l.kind,
    config: l.config,
    inbound: l.inbound,
    weights: l.weights.map((w) => restoreWeight(w, l.name)),
    ...(l.trainable === undefined ? {} : { trainable: l.trainable }),
    ...(l.parents ? { parents: l.parents } : {}),
  }));
  return {
    format: e.format,
    framework: e.framework,
    source: e.source,
    layers,
    notes: e.notes,
    ...(e.frameworkVersion ? { frameworkVersion: e.frameworkVersion } : {}),
    ...(e.onnx ? { config: e.onnx } : {}),
    close() {},
  };
}
