import type { AxisName } from '../model/axes.js';
import type { LayerKind } from '../model/axes.js';
import { memoryModel } from '../model/memory-model.js';
import type { FormatId, Framework, Model } from '../model/model.js';
import { NamedTensor } from '../tensor/named-tensor.js';
import { decodeNpy } from '../tensor/npy.js';
import { toBase64 } from '../render/scene-svg.js';

/**
 * A model written into a report: every weight as base64 .npy with its axis names, so the report's
 * page rebuilds the same Model in memory and draws every view offline with the library's own code.
 */
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
    weights: { name: string; role: string; axes: AxisName[]; npy: string }[];
  }[];
}

export async function embedModel(model: Model, outputShapes: ReadonlyMap<string, (number | null)[]> = new Map()): Promise<EmbeddedModel> {
  const layers: EmbeddedModel['layers'] = [];
  for (const layer of model.layers) {
    const weights: EmbeddedModel['layers'][number]['weights'] = [];
    for (const w of layer.weights) {
      const t = await w.read();
      weights.push({ name: w.name, role: w.role, axes: [...t.axes], npy: toBase64(t.toNpy()) });
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
  return {
    source: model.source,
    format: model.format,
    framework: model.framework,
    ...(model.frameworkVersion ? { frameworkVersion: model.frameworkVersion } : {}),
    notes: [...(model.notes ?? [])],
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

/** The Model an embedded model describes (weights decoded on first read). */
export function restoreModel(e: EmbeddedModel): Model {
  const model = memoryModel({
    source: e.source,
    format: e.format,
    framework: e.framework,
    ...(e.frameworkVersion ? { frameworkVersion: e.frameworkVersion } : {}),
    layers: e.layers.map((l) => ({
      name: l.name,
      className: l.className,
      kind: l.kind,
      config: l.config,
      inbound: l.inbound,
      ...(l.trainable === undefined ? {} : { trainable: l.trainable }),
      weights: l.weights.map((w) => {
        const npy = decodeNpy(fromBase64(w.npy), `${l.name}/${w.role}`);
        return { name: w.name, role: w.role, tensor: new NamedTensor(w.axes, npy.shape, npy.data) };
      }),
    })),
  });
  const layers = model.layers.map((layer, i) => {
    const parents = e.layers[i]!.parents;
    return parents ? { ...layer, parents } : layer;
  });
  return { ...model, layers, notes: e.notes };
}
