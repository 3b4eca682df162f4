import type { AxisName, LayerKind } from '../model/axes.js';
import { DTYPE_BYTES, type DType } from '../model/dtype.js';
import { UsageError } from '../model/errors.js';
import type { FormatId, Framework, Layer, Model, Weight } from '../model/model.js';
import { toBase64 } from '../render/scene-svg.js';
import { NamedTensor } from '../model/named-tensor.js';
import { decodeNpy } from '../model/npy.js';
import { formatBytes } from '../model/format.js';

/**
 * A model written into a report: every weight as base64 .npy with its axis names, so the report's
 * page rebuilds the same Model in memory and draws every view offline with the library's own code.
 * Weights larger than the report's limit are described (shape, axes, dtype) but left out.
 */
export interface EmbeddedWeight {
  name: string;
  role: string;
  axes: AxisName[];
  shape: number[];
  dtype: DType;
  /** base64 .npy; absent when the weight was left out of the report. */
  npy?: string;
}

export interface EmbeddedModel {
  source: string;
  format: FormatId;
  framework: Framework;
  frameworkVersion?: string;
  notes: string[];
  outputShapes: Record<string, (number | null)[]>;
  layers: {
    name: string;
    className: string;
    kind: LayerKind;
    config: Record<string, unknown>;
    inbound: string[];
    trainable?: boolean;
    parents?: string[];
    weights: EmbeddedWeight[];
  }[];
}

/** Default largest weight a report embeds: a VGG16 conv kernel (9.4 MB) fits, its 400 MB Dense kernel does not. */
export const DEFAULT_MAX_WEIGHT_BYTES = 16 * 1024 * 1024;

export async function embedModel(
  model: Model,
  outputShapes: ReadonlyMap<string, (number | null)[]> = new Map(),
  maxWeightBytes = DEFAULT_MAX_WEIGHT_BYTES,
): Promise<EmbeddedModel> {
  const layers: EmbeddedModel['layers'] = [];
  const left: string[] = [];
  for (const layer of model.layers) {
    const weights: EmbeddedWeight[] = [];
    for (const w of layer.weights) {
      const bytes = w.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[w.dtype];
      const entry: EmbeddedWeight = { name: w.name, role: w.role, axes: [...w.axes], shape: [...w.shape], dtype: w.dtype };
      if (bytes <= maxWeightBytes) entry.npy = toBase64((await w.read()).toNpy());
      else left.push(`${layer.name}/${w.role} (${formatBytes(bytes)})`);
      weights.push(entry);
    }
    layers.push({
      name: layer.name,
      className: layer.className,
      kind: layer.kind,
      config: { ...layer.config },
      inbound: [...layer.inbound],
      ...(layer.trainable === undefined ? {} : { trainable: layer.trainable }),
      ...(layer.parents?.length ? { parents: [...layer.parents] } : {}),
      weights,
    });
  }
  const notes = [...(model.notes ?? [])];
  if (left.length > 0) {
    notes.push(`Left out of this report (each over ${formatBytes(maxWeightBytes)}; see convscope report --max-weight-mb): ${left.join(', ')}.`);
  }
  return {
    source: model.source,
    format: model.format,
    framework: model.framework,
    ...(model.frameworkVersion ? { frameworkVersion: model.frameworkVersion } : {}),
    notes,
    outputShapes: Object.fromEntries(outputShapes),
    layers,
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
    close() {},
  };
}
