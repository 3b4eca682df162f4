import { kerasAxes, kerasLayerKind } from '../../src/model/axes.js';
import { memoryModel as libraryMemoryModel } from '../../src/formats/memory.js';
import type { Model } from '../../src/model/model.js';
import { NamedTensor } from '../../src/model/named-tensor.js';

/** A stored weight given in memory: role and Keras-layout values. */
export interface MemoryWeight {
  role: string;
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * A convscope Model held in memory: an architecture JSON plus Keras-layout weights per layer, as a
 * reader would return them. Lets the compute tests feed oracle cases that come as JSON / .npy.
 */
export function memoryModel(
  config: unknown,
  weights: Record<string, { className: string; weights: MemoryWeight[] }>,
  extra: Partial<Pick<Model, 'metadata'>> = {},
): Model {
  return libraryMemoryModel({
    source: 'memory',
    format: 'keras-h5',
    framework: 'keras',
    config,
    ...(extra.metadata ? { metadata: { ...extra.metadata } } : {}),
    layers: Object.entries(weights).map(([name, { className, weights: ws }]) => ({
      name,
      className,
      kind: kerasLayerKind(className),
      weights: ws.map((w) => ({
        role: w.role,
        name: `${name}/${w.role}:0`,
        tensor: new NamedTensor(kerasAxes(className, w.role, w.shape.length), w.shape, Float32Array.from(w.data)),
      })),
    })),
  });
}
