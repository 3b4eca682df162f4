import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Conv1D for channels_first inputs. tfjs-layers' Conv1D transposes an NCW input to NWC but returns
 * NWC, so its output has the wrong layout; this subclass transposes the result back to NCW, as
 * Keras returns it. Weights and every other behaviour are tfjs-layers' own.
 */

type LayerClass = new (args: Record<string, unknown>) => tfl.layers.Layer;

const Conv1D = tf.serialization.SerializationMap.getMap().classNameMap.Conv1D![0] as unknown as LayerClass;

export class ChannelsFirstConv1D extends Conv1D {
  static className = 'ConvscopeChannelsFirstConv1D';

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => tf.transpose(super.call(inputs, kwargs) as tf.Tensor, [0, 2, 1]));
  }
}

tf.serialization.registerClass(ChannelsFirstConv1D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
