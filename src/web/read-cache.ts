import type { Layer, Model, Weight } from '../model/model.js';
import type { NamedTensor } from '../model/named-tensor.js';

/**
 * The server's models with the last weight read kept: opening a big layer asks for its picture, its
 * histograms and then a filter, and each would read the whole weight again (392 MB for VGG16's fc1).
 * One weight is kept, so memory stays bounded by the largest weight.
 */
export function withReadCache(models: readonly Model[]): Model[] {
  let last: { weight: Weight; tensor: Promise<NamedTensor> } | undefined;
  const cached = (weight: Weight): Weight => ({
    ...weight,
    read: () => {
      if (last?.weight !== weight) {
        const tensor = weight.read();
        last = { weight, tensor };
        tensor.catch(() => {
          if (last?.tensor === tensor) last = undefined;
        });
      }
      return last.tensor;
    },
  });
  return models.map((model) => {
    const layers: Layer[] = model.layers.map((layer) => ({ ...layer, weights: layer.weights.map(cached) }));
    return { ...model, layers, close: () => model.close() };
  });
}
