import * as tfl from '@tensorflow/tfjs-layers';
import type { tf } from './backend.js';

/** One weight variable of a tfjs layers model, with the layer it belongs to. */
export interface LayerWeight {
  /** Layer name, with enclosing model names for nested models ("block/conv1"). */
  readonly layer: string;
  readonly className: string;
  /** The weight's role within its layer: kernel, bias, gamma, moving_mean, ... */
  readonly role: string;
  readonly trainable: boolean;
  /** The live value (tfjs-layers keeps it in a tf.Variable; `read()` hands back that variable). */
  readonly value: tf.Variable;
}

/** Every weight of `model` (trainable or not) in layer order, descending into nested models. */
export function layerWeights(model: tfl.LayersModel, prefix = ''): LayerWeight[] {
  return model.layers.flatMap((layer) => {
    const name = `${prefix}${layer.name}`;
    if (layer instanceof tfl.LayersModel) return layerWeights(layer, `${name}/`);
    return layer.weights.map((w) => ({
      layer: name,
      className: layer.getClassName(),
      role: w.originalName.split('/').at(-1)!,
      trainable: w.trainable,
      value: w.read() as tf.Variable,
    }));
  });
}
