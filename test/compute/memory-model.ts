import { kerasAxes } from '../../src/model/axes.js';
import type { Layer, Model, Weight } from '../../src/model/model.js';
import { NamedTensor } from '../../src/tensor/named-tensor.js';
import { kerasLayerKind } from '../../src/model/axes.js';

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
  const layers: Layer[] = Object.entries(weights).map(([name, { className, weights: ws }]) => ({
    name,
    className,
    kind: kerasLayerKind(className),
    config: {},
    inbound: [],
    weights: ws.map((w): Weight => {
      const axes = kerasAxes(className, w.role, w.shape.length);
      return {
        name: `${name}/${w.role}:0`,
        role: w.role,
        shape: w.shape,
        axes,
        dtype: 'float32',
        layer: name,
        read: async () => new NamedTensor(axes, w.shape, Float32Array.from(w.data)),
      };
    }),
  }));
  return { format: 'keras-h5', framework: 'keras', source: 'memory', layers, config, close: () => undefined, ...extra };
}
