import type { LayerKind } from '../model/axes.js';
import { dataDType } from '../model/dtype.js';
import type { FormatId, Framework, Layer, Model, Weight } from '../model/model.js';
import type { NamedTensor } from '../model/named-tensor.js';
import { withKerasCallGraph } from './keras-graph.js';

export interface MemoryLayerSpec {
  name: string;
  className: string;
  kind?: LayerKind;
  config?: Record<string, unknown>;
  inbound?: string[];
  trainable?: boolean;
  /** Weights in file order; `name` defaults to `<layer>/<role>`. */
  weights: { role: string; tensor: NamedTensor; name?: string }[];
}

export interface MemoryModelSpec {
  source: string;
  format: FormatId;
  framework: Framework;
  frameworkVersion?: string;
  metadata?: Record<string, string>;
  /** The architecture JSON (Keras / TF.js), when the weights should be runnable: converted into the model's call graph. */
  config?: unknown;
  layers: MemoryLayerSpec[];
}

/**
 * A Model over tensors already in memory: what training snapshots, tests and the browser build
 * when the weights did not come from a file.
 */
export function memoryModel(spec: MemoryModelSpec): Model {
  const layers: Layer[] = spec.layers.map((l) => {
    const weights: Weight[] = l.weights.map((w) => ({
      name: w.name ?? `${l.name}/${w.role}`,
      role: w.role,
      shape: w.tensor.shape,
      axes: w.tensor.axes,
      dtype: dataDType(w.tensor.data),
      layer: l.name,
      read: async () => w.tensor,
    }));
    const layer: Layer = {
      name: l.name,
      className: l.className,
      kind: l.kind ?? 'other',
      config: l.config ?? {},
      inbound: l.inbound ?? [],
      weights,
      ...(l.trainable === undefined ? {} : { trainable: l.trainable }),
    };
    return layer;
  });
  return withKerasCallGraph({
    format: spec.format,
    framework: spec.framework,
    source: spec.source,
    layers,
    ...(spec.frameworkVersion ? { frameworkVersion: spec.frameworkVersion } : {}),
    ...(spec.metadata ? { metadata: spec.metadata } : {}),
    ...(spec.config === undefined ? {} : { config: spec.config }),
    close() {},
  });
}
